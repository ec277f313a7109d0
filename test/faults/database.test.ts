/**
 * The MongoDB-wire server SIGKILLed and restarted while partner reports stream through the whole
 * pipeline (four service processes): every service says not-ready while the database is down and
 * ready after, and every report is accounted for once at every stage. Starts a stack of its own
 * (the database is killed). `HASHCHECK_FAULTS=full`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '@hashcheck/stack';
import { FULL, ownStack, sleep } from './harness';
import { BUDGET_MS, PIPELINE_N, describeReadiness, runScenario, startPipeline, watchAll } from './pipeline';

const DOWN_MS = 8000;

let stack: Stack | undefined;
let seen: Map<string, string[]> | undefined;
let skipReason: string | undefined;

before(async () => {
  if (!FULL) return;
  const r = await ownStack();
  if (typeof r === 'string') skipReason = r;
  else stack = r;
}, { timeout: 200_000 });
after(async () => {
  await stack?.stop();
});

test('MongoDB-wire server SIGKILLed and restarted mid-stream: not-ready while down, ready after, every report accounted for once', { skip: FULL ? false : 'HASHCHECK_FAULTS=full', timeout: BUDGET_MS }, async (t) => {
  if (!stack) return t.skip(skipReason ?? 'no stack');
  const st = stack;
  const p = await startPipeline(t, { brokers: st.kafkaBrokers, mongoUri: st.mongoUri, logDir: st.logDir });
  const services = [...p.services.values()];
  const watch = watchAll(services);
  let downFor = 0;
  const readyAgain: string[] = [];
  let notReadyWhileDown: string[] = [];
  await runScenario(t, assert, p, {
    label: 'database kill',
    n: PIPELINE_N,
    rate: 6,
    fault: async () => {
      await sleep(5000);
      const t0 = Date.now();
      await st.killMongo();
      await sleep(DOWN_MS);
      // Asked directly too: the sampler may be slow to get an answer on a loaded machine.
      notReadyWhileDown = (await Promise.all(services.map(async (s) => [s.name, await s.readiness()] as const))).filter(([, status]) => status === 503).map(([n]) => n);
      await st.restartMongo();
      downFor = Date.now() - t0;
      const up = Date.now();
      await Promise.all(services.map(async (s) => {
        await s.ready(BUDGET_MS);
        readyAgain.push(`${s.name} ${((Date.now() - up) / 1000).toFixed(1)} s`);
      }));
    },
  }).finally(() => {
    t.diagnostic(`database down ${(downFor / 1000).toFixed(1)} s; not-ready when asked during the outage: ${notReadyWhileDown.join(', ')}; ready again after the restart: ${readyAgain.join(', ')}`);
    t.diagnostic(`readiness: ${describeReadiness(seen ??= watch.stop())}`);
  });
  seen ??= watch.stop();
  for (const s of services) {
    const tr = seen.get(`${s.name}-1`) ?? [];
    assert.ok(tr.some((x) => x.startsWith('not-ready')) || notReadyWhileDown.includes(s.name), `${s.name} never said not-ready while the database was down`);
    assert.ok(tr.at(-1)?.startsWith('ready'), `${s.name} not ready at the end`);
  }
});
