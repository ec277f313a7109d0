/** notification x2, one instance SIGKILLed as its own process under load: see notification-scenario.ts. */
import { test } from 'node:test';
import { notificationScenario } from './notification-scenario';

test('notification x2, one killed under load: every report is one item in one notice, accepted once', { timeout: 240_000 }, (t) => notificationScenario(t, 'killed'));
