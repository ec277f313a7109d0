/**
 * intake SIGKILLed in the middle of a stream of partner reports and restarted, as a real process
 * (like scripts/start.ts runs it), on the test run's stack under a topic prefix and a database of
 * its own: every report the broker acknowledged is accounted for exactly once (a stored report and
 * a reports.accepted event, or a stored rejection and a reports.rejected event; duplicates on a
 * topic are counted and shown). Runs in the default suite (~1 minute).
 *
 * The whole pipeline under faults is in the other files of this folder (`HASHCHECK_FAULTS=full`):
 * service-kills (each service in turn), database, webhook, rebalance, poison. Sizes: FAULTS_REPORTS
 * (200), FAULTS_RATE (20/s). `HASHCHECK_FAULTS=off` skips.
 */
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { Topics } from '@hashcheck/events';
import { infra } from '@hashcheck/testing';
import { account, checkIntake, Partner, setup, sleep } from './harness';

const N = Number(process.env.FAULTS_REPORTS ?? 200);
const RATE = Number(process.env.FAULTS_RATE ?? 20);
const SETTLE_MS = 90_000;

test('intake SIGKILLed mid-batch and restarted: nothing lost, no report stored twice', { timeout: 200_000 }, async (t) => {
  if (process.env.HASHCHECK_FAULTS === 'off') return t.skip('HASHCHECK_FAULTS=off');
  const env = infra(t);
  if (!env) return;
  const s = await setup(t, { kafkaBrokers: env.brokers, mongoUri: env.mongoUri, logDir: process.env.HASHCHECK_STACK_LOG_DIR ?? tmpdir() }, ['intake']);
  t.after(() => s.mongo.db(`${s.dbBase}_intake`).dropDatabase().then(() => undefined, () => undefined));
  const intake = s.services.get('intake')!;
  const partner = new Partner(s.stack.kafkaBrokers, s.prefix + Topics.reportsSubmitted);
  t.after(() => partner.close());
  const stream = partner.run(N, RATE);
  await sleep(3000);
  const mid = (await account(s, partner)).storedReports;
  const t0 = Date.now();
  await intake.kill('SIGKILL');
  await intake.start();
  await intake.ready();
  const back = Date.now() - t0;
  await stream;
  t.diagnostic(`intake SIGKILLed with ${mid} of ${N} reports stored; ready again ${(back / 1000).toFixed(1)} s later`);
  await checkIntake(t, s, partner, N, SETTLE_MS, 'intake kill');
});
