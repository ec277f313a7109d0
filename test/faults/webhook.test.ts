/**
 * The provider's webhook down while matches stream in: first it answers 503, then nothing listens
 * (connection refused), then it is back. Every notice is delivered in the end, none twice (the
 * receiver counts notice ids, which are the idempotency keys, and the reports in each notice), no
 * notice is given up, and the deadlines (which start when a notice is delivered) fire once each.
 * Uses the test run's stack under a topic prefix and databases of its own. `HASHCHECK_FAULTS=full`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@hashcheck/testing';
import { FULL, sleep } from './harness';
import { BUDGET_MS, PIPELINE_N, runScenario, startPipeline } from './pipeline';

const OUTAGE_MS = 12_000;

test('provider webhook 503 then connection refused, then back: every notice delivered once, none given up, every timer once', { skip: FULL ? false : 'HASHCHECK_FAULTS=full', timeout: BUDGET_MS }, async (t) => {
  const env = infra(t);
  if (!env) return;
  const p = await startPipeline(t, { brokers: env.brokers, mongoUri: env.mongoUri });
  const w = p.webhook;
  let during = { answered503: 0, deliveredBefore: 0 };
  let firstAfter = 0;
  let backAt = 0;
  await runScenario(t, assert, p, {
    label: 'webhook down',
    n: PIPELINE_N,
    rate: 6,
    fault: async () => {
      await sleep(2000);
      during.deliveredBefore = w.delivered().length;
      await w.set('503');
      await sleep(OUTAGE_MS);
      await w.set('refused');
      await sleep(OUTAGE_MS);
      await w.set('up');
      backAt = Date.now();
      during = { ...during, answered503: w.requests.filter((r) => r.status === 503).length };
    },
  }).finally(() => {
    firstAfter = (w.delivered().find((d) => d.at >= backAt)?.at ?? 0) - backAt;
    t.diagnostic(`webhook: ${during.deliveredBefore} notices taken before the outage; ${OUTAGE_MS / 1000} s answering 503 (${during.answered503} requests refused), ${OUTAGE_MS / 1000} s connection refused; first notice taken ${(firstAfter / 1000).toFixed(1)} s after it was back`);
  });
  assert.ok(during.answered503 > 0, 'no notice was attempted while the webhook answered 503: the outage tested nothing');
});
