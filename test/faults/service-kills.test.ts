/**
 * Each service in turn SIGKILLed in the middle of a stream of partner reports and restarted, as a
 * real process, with the whole pipeline running: every report accounted for at every stage, no
 * notice sent twice, every case's deadline timer fired exactly once. Uses the test run's stack
 * (KAFKA_BROKERS / MONGODB_URI) under a topic prefix and databases of its own.
 * `HASHCHECK_FAULTS=full` (about 2-3 minutes of four service processes on a loaded machine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import { infra } from '@hashcheck/testing';
import { FULL, sleep } from './harness';
import { BUDGET_MS, PIPELINE_N, DEADLINE_S, describeReadiness, PIPELINE_SERVICES, runScenario, startPipeline, watchAll } from './pipeline';


test('each service SIGKILLed in turn mid-stream and restarted: every report accounted for once, no notice twice, every timer once', { skip: FULL ? false : 'HASHCHECK_FAULTS=full', timeout: BUDGET_MS + 10_000 }, async (t) => {
  const env = infra(t);
  if (!env) return;
  const p = await startPipeline(t, { brokers: env.brokers, mongoUri: env.mongoUri });
  const watch = watchAll([...p.services.values()]);
  const notes: string[] = [];
  let restartsDone: Promise<unknown> = Promise.resolve();
  // Spaced so that each kill lands while its service has work: intake and hash-check while reports
  // stream in, notification while notices go out, enforcement once deadlines have started firing.
  const at = { intake: 3, 'hash-check': 6, notification: 9, enforcement: DEADLINE_S + 6 } as const;
  await runScenario(t, assert, p, {
    label: 'each service killed in turn',
    n: PIPELINE_N,
    rate: PIPELINE_N / 20,
    fault: async (stream) => {
      const t0 = Date.now();
      const restarts: Array<Promise<void>> = [];
      for (const name of PIPELINE_SERVICES) {
        const wait = t0 + at[name] * 1000 - Date.now();
        if (wait > 0) await sleep(wait);
        const svc = p.services.get(name)!;
        const before = await progress(name);
        const running = !stream.done();
        const k0 = Date.now();
        await svc.kill('SIGKILL');
        await svc.start();
        restarts.push(svc.ready(BUDGET_MS).then(() => { notes.push(`${name}: SIGKILL at ${((k0 - t0) / 1000).toFixed(1)} s (stream still running: ${running}; done so far: ${before}), ready again after ${((Date.now() - k0) / 1000).toFixed(1)} s`); }));
      }
      // Not awaited here: the accounting waits while the restarted services catch up.
      restartsDone = Promise.all(restarts);
    },
  }).finally(async () => {
    await Promise.race([restartsDone, sleep(1000)]);
    for (const n of notes) t.diagnostic(n);
    t.diagnostic(`readiness: ${describeReadiness(watch.stop())}`);
  });

  async function progress(name: string): Promise<string> {
    const db = (s: string) => p.mongo.db(`${p.dbBase}_${s}`);
    const topic = (x: string) => p.recorder.on(p.prefix + x).length;
    switch (name) {
      case 'intake':
        return `${await db('intake').collection('reports').countDocuments({})} reports stored`;
      case 'hash-check':
        return `${topic(Topics.reportsMatched) + topic(Topics.reportsUnmatched)} verdicts published`;
      case 'notification':
        return `${p.webhook.delivered().length} notices delivered`;
      default:
        return `${await db('enforcement').collection('case_log').countDocuments({ input: 'timer-fired' })} timers fired`;
    }
  }
});
