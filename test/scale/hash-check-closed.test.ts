/** hash-check x2, one instance closed (a clean leave) under load: see hash-check-scenario.ts. */
import { test } from 'node:test';
import { hashCheckScenario } from './hash-check-scenario';

test('hash-check x2, one closed under load: every accepted report is decided once, matched exactly when listed', { timeout: 300_000 }, (t) => hashCheckScenario(t, 'closed'));
