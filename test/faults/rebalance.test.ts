/**
 * Consumer rebalance under load: a second instance of every service joins its consumer groups
 * while partner reports stream through the pipeline, then leaves (SIGTERM, a clean shutdown) while
 * they still stream. Partitions move twice in every group; notices and timers are shared between
 * two instances for a while. Every report is accounted for once at every stage, no notice goes out
 * twice, no timer fires twice. Uses the test run's stack under a topic prefix and databases of its
 * own. `HASHCHECK_FAULTS=full`. (test/scale runs two instances of each service for throughput; this
 * is about the join and the leave.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@hashcheck/testing';
import { FULL, sleep } from './harness';
import { BUDGET_MS, describeReadiness, PIPELINE_SERVICES, runScenario, secondInstance, startPipeline, watchAll } from './pipeline';

test('a second instance of every service joins and leaves under load: every report accounted for once, no notice twice, every timer once', { skip: FULL ? false : 'HASHCHECK_FAULTS=full', timeout: BUDGET_MS }, async (t) => {
  const env = infra(t);
  if (!env) return;
  const p = await startPipeline(t, { brokers: env.brokers, mongoUri: env.mongoUri });
  const notes: string[] = [];
  const watch = watchAll(p.all);
  await runScenario(t, assert, p, {
    label: 'rebalance (join + leave)',
    // Streams until the second instances have left (the reports acknowledged by then are the N), at
    // most FAULTS_REBALANCE_MAX: a join that takes minutes on a saturated machine must not pile up
    // more reports than the pipeline can work off in the file's budget (984 did, in one run). 600
    // (2 minutes at 5/s): with 300 the stream had ended before a 62 s join, so nothing rebalanced
    // under the stream; with 600 a 46 s join and the leave both came mid-stream (344 reports).
    n: Number(process.env.FAULTS_REBALANCE_MAX ?? 600),
    rate: 5,
    fault: async (stream) => {
      await sleep(2000);
      const t0 = Date.now();
      const seconds = PIPELINE_SERVICES.map((name) => secondInstance(p, name));
      await Promise.all(seconds.map((s) => s.start()));
      await Promise.all(seconds.map((s) => s.ready(BUDGET_MS / 2)));
      notes.push(`second instances of all four joined and ready after ${((Date.now() - t0) / 1000).toFixed(1)} s (stream running: ${!stream.done()})`);
      // Both instances share the work for a while (timers start firing DEADLINE_S after the first notices).
      await sleep(10_000);
      const t1 = Date.now();
      await Promise.all(seconds.map((s) => s.kill('SIGTERM')));
      notes.push(`second instances left (SIGTERM, exited after ${((Date.now() - t1) / 1000).toFixed(1)} s; stream running: ${!stream.done()})`);
      await sleep(5000);
      stream.stop();
    },
  }).finally(() => {
    for (const n of notes) t.diagnostic(n);
    if (notes.some((n) => n.includes('stream running: false'))) t.diagnostic('the join or the leave came after the stream had ended (not the scenario asked for): raise FAULTS_REBALANCE_MAX');
    t.diagnostic(`readiness: ${describeReadiness(watch.stop())}`);
  });
});
