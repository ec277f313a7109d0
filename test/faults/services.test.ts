/**
 * Faults under a steady stream of partner reports, with real processes against a stack of our own.
 * After each fault: every report the broker acknowledged is accounted for exactly once (a stored
 * report and a reports.accepted event, or a stored rejection and a reports.rejected event; the
 * database holds one document per report id, duplicates on a topic are counted and shown), and the
 * service said not-ready while its dependency was down and is ready again after.
 *
 * This file: intake SIGKILL (default), every other service and a consumer rebalance
 * (`HASHCHECK_FAULTS=full`). broker.test.ts: the broker and the database. `HASHCHECK_FAULTS=off` skips them all. Sizes: FAULTS_REPORTS (200), FAULTS_RATE (20/s).
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import type { Stack } from '@hashcheck/stack';
import { account, describe, FULL, ownStack, Partner, settle, setup, sleep, type Setup } from './harness';

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

async function check(t: TestContext, s: Setup, partner: Partner, label: string): Promise<void> {
  const a = await settle(s, partner, SETTLE_MS);
  t.diagnostic(`${label}: ${describe(a)}; partner send retries ${partner.sendErrors}`);
  assert.equal(a.acked, N, 'the partner did not get every report acknowledged');
  assert.deepEqual(a.missing.slice(0, 20), [], `${a.missing.length} acknowledged reports not accounted for`);
  assert.deepEqual(a.wronglyAccepted, []);
  assert.deepEqual(a.wronglyRejected, []);
  assert.equal(a.storedReports + a.storedRejections, N, 'N in, N out (stored reports + rejections)');
  assert.equal(a.acceptedOnTopic + a.rejectedOnTopic, N, 'N in, N out (distinct ids on reports.accepted + reports.rejected)');
}

test('intake SIGKILLed mid-batch and restarted: nothing lost, no report stored twice', { timeout: 240_000 }, async (t) => {
  const st = ready(t);
  if (!st) return;
  const s = await setup(t, st, ['intake']);
  const intake = s.services.get('intake')!;
  const partner = new Partner(st.kafkaBrokers, s.prefix + Topics.reportsSubmitted);
  t.after(() => partner.close());
  const stream = partner.run(N, RATE);
  await sleep(3000);
  const mid = (await account(s, partner)).storedReports;
  await intake.kill('SIGKILL');
  await sleep(2000);
  await intake.start();
  await intake.ready();
  await stream;
  t.diagnostic(`intake killed with ${mid} reports stored`);
  await check(t, s, partner, 'intake kill');
});

test('every service SIGKILLed in turn mid-stream and restarted: each comes back ready, nothing lost', { timeout: 240_000, skip: FULL ? false : 'HASHCHECK_FAULTS=full' }, async (t) => {
  const st = ready(t);
  if (!st) return;
  const names = ['intake', 'hash-check', 'notification', 'enforcement'];
  const s = await setup(t, st, names);
  const partner = new Partner(st.kafkaBrokers, s.prefix + Topics.reportsSubmitted);
  t.after(() => partner.close());
  const stream = partner.run(N, RATE / 2);
  for (const name of names) {
    await sleep(1500);
    const svc = s.services.get(name)!;
    const t0 = Date.now();
    await svc.kill('SIGKILL');
    await svc.start();
    await svc.ready();
    t.diagnostic(`${name}: killed and ready again in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  await stream;
  await check(t, s, partner, 'each service killed');
});

test('consumer rebalance: a second intake instance joins and leaves under load', { timeout: 240_000, skip: FULL ? false : 'HASHCHECK_FAULTS=full' }, async (t) => {
  const st = ready(t);
  if (!st) return;
  const s = await setup(t, st, ['intake']);
  const { ServiceProcess } = await import('./harness');
  const second = new ServiceProcess('intake', s.env('intake'), s.logDir, 2);
  t.after(() => second.kill('SIGKILL'));
  const partner = new Partner(st.kafkaBrokers, s.prefix + Topics.reportsSubmitted);
  t.after(() => partner.close());
  const stream = partner.run(N, RATE / 2);
  await sleep(2000);
  await second.start();
  await second.ready();
  await sleep(3000);
  await second.kill('SIGTERM');
  await stream;
  await check(t, s, partner, 'rebalance (join + leave)');
});
