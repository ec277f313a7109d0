/** enforcement x2, one instance closed (a clean leave; a ManualClock shared by both) under load: see enforcement-scenario.ts. */
import { test } from 'node:test';
import { enforcementScenario } from './enforcement-scenario';

test('enforcement x2, one closed under load: every report is one case, every timer fires once', { timeout: 240_000 }, (t) => enforcementScenario(t, 'closed'));
