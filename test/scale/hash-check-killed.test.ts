/** hash-check x2, one instance SIGKILLed as its own process under load: see hash-check-scenario.ts. */
import { test } from 'node:test';
import { hashCheckScenario } from './hash-check-scenario';

test('hash-check x2, one killed under load: every accepted report is decided once, matched exactly when listed', { timeout: 300_000 }, (t) => hashCheckScenario(t, 'killed'));
