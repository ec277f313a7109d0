/** intake x2, one instance SIGKILLed as its own process under load: see intake-scenario.ts. */
import { test } from 'node:test';
import { intakeScenario } from './intake-scenario';

test('intake x2, one killed under load: the partitions move to the other instance and nothing is lost', { timeout: 300_000 }, (t) => intakeScenario(t, 'killed'));
