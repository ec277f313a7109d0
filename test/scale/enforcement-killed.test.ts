/** enforcement x2, one instance SIGKILLed as its own process (real-time deadlines) under load: see enforcement-scenario.ts. */
import { test } from 'node:test';
import { enforcementScenario } from './enforcement-scenario';

test('enforcement x2, one killed under load: every report is one case, every timer fires once', { timeout: 240_000 }, (t) => enforcementScenario(t, 'killed'));
