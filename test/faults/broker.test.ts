/**
 * Faults under a steady stream of partner reports, with real processes against a stack of our own.
 * After each fault: every report the broker acknowledged is accounted for exactly once (a stored
 * report and a reports.accepted event, or a stored rejection and a reports.rejected event; the
 * database holds one document per report id, duplicates on a topic are counted and shown), and the
 * service said not-ready while its dependency was down and is ready again after.
 *
 * This file: the Kafka broker (default suite). It starts a stack of its own (the broker is killed)
 * and must stay under the test runner's 240 s per file. database.test.ts kills the MongoDB-wire
 * server under the whole pipeline (`HASHCHECK_FAULTS=full`). `HASHCHECK_FAULTS=off` skips them all.
 * Sizes: FAULTS_REPORTS (200), FAULTS_RATE (20/s).
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import type { Stack } from '@hashcheck/stack';
import { checkIntake, ownStack, Partner, setup, sleep, watchReadiness } from './harness';

const N = Number(process.env.FAULTS_REPORTS ?? 200);
const RATE = Number(process.env.FAULTS_RATE ?? 20);
const SETTLE_MS = 90_000;

let stack: Stack | undefined;
let skipReason: string | undefined;

before(async () => {
  // One stack for every scenario in this file; each scenario has its own topics and databases.
  const r = await ownStack();
  if (typeof r === 'string') skipReason = r;
  else stack = r;
}, { timeout: 300_000 });
after(async () => {
  await stack?.stop();
});

function ready(t: TestContext): Stack | undefined {
  if (!stack) t.skip(skipReason ?? 'no stack');
  return stack;
}

test('Kafka broker SIGKILLed and restarted mid-stream: nothing lost, intake not-ready while it is down and ready after', { timeout: 240_000 }, async (t) => {
  const st = ready(t);
  if (!st) return;
  const s = await setup(t, st, ['intake']);
  const intake = s.services.get('intake')!;
  const partner = new Partner(st.kafkaBrokers, s.prefix + Topics.reportsSubmitted);
  t.after(() => partner.close());
  const stream = partner.run(N, RATE);
  await sleep(3000);
  const watch = watchReadiness(intake);
  const t0 = Date.now();
  await st.killKafka();
  await sleep(8000);
  const notReadyWhileDown = (await intake.readiness()) === 503;
  await st.restartKafka();
  const down = Date.now() - t0;
  await intake.ready(120_000);
  const readyAfter = Date.now() - t0 - down;
  const w = watch.stop();
  await stream;
  t.diagnostic(`broker down ${(down / 1000).toFixed(1)} s; intake ready again ${(readyAfter / 1000).toFixed(1)} s after the restart; said not-ready while down: ${w.sawNotReady || notReadyWhileDown}`);
  assert.ok(w.sawNotReady || notReadyWhileDown, 'intake never said not-ready while the broker was down');
  await checkIntake(t, s, partner, N, SETTLE_MS, 'broker kill');
});
