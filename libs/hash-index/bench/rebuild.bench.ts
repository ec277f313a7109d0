// How long the event loop stops while an index base is rebuilt, with 1.4 M SHA-256 and 1.4 M PDQ
// hashes loaded: a compaction (delta + tombstones folded in) and a new 1.4 M-hash generation of a
// list (bulk commit), each done synchronously (before) and with the O(n) part in a worker thread
// (after), in the same run. Figures: the largest event-loop delay (perf_hooks.monitorEventLoopDelay)
// and how many checks a 1 ms timer got answered during the rebuild.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HashIndex, WorkerBuilder } from '@hashcheck/hash-index';
import { log, prng, printResults, round } from './bench-util';
import type { BenchResult } from './bench-util';

const N = Number(process.env.HASHCHECK_BENCH_REBUILD_N ?? 1_400_000);
const WITH_PDQ = process.env.HASHCHECK_BENCH_REBUILD_PDQ !== '0';

function fill(index: HashIndex, list: string, seed: number): void {
  const loader = index.bulkLoader();
  loader.reserve('sha256', N);
  if (WITH_PDQ) loader.reserve('pdq', N);
  const ref = loader.ref(list);
  const rnd = prng(seed);
  const w = new Uint32Array(8);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 8; k++) w[k] = rnd();
    loader.addWords('sha256', w, 0, ref);
    if (WITH_PDQ) {
      for (let k = 0; k < 8; k++) w[k] = rnd();
      loader.addWords('pdq', w, 0, ref);
    }
  }
  loader.commit();
}

const index = new HashIndex();
index.defineList({ id: 'police' });
fill(index, 'police', 7);
// Some churn so a compaction has something to fold in: 70 k additions and 70 k retractions.
const churn: string[] = [];
{
  const rnd = prng(99);
  const w = new Uint32Array(8);
  for (let i = 0; i < 70_000; i++) {
    for (let k = 0; k < 8; k++) w[k] = rnd();
    index.add('sha256', w, 'police');
    churn.push(Buffer.from(w.buffer).toString('hex'));
  }
  const again = prng(7);
  for (let i = 0; i < 70_000; i++) {
    for (let k = 0; k < 8; k++) w[k] = again();
    index.retract('sha256', w, 'police');
    if (WITH_PDQ) for (let k = 0; k < 8; k++) again();
  }
}
log(`loaded ${N} sha256${WITH_PDQ ? ` + ${N} pdq` : ''}; stats ${JSON.stringify(index.stats().types.sha256)}`);

const probe = Buffer.alloc(32, 0xab).toString('hex');
/** Runs `fn` while a 1 ms timer checks hashes; returns the max event-loop delay and the checks answered. */
async function measure(name: string, fn: () => Promise<void> | void): Promise<{ maxMs: number; p99Ms: number; gapMs: number; checks: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let checks = 0;
  // The histogram's own timer needs a first tick before a blocked loop shows as a delay; the
  // largest gap between two runs of our 1 ms timer is measured as well, as a cross-check.
  let last = performance.now();
  let maxGap = 0;
  let counting = false;
  const timer = setInterval(() => {
    const now = performance.now();
    if (counting && now - last > maxGap) maxGap = now - last;
    last = now;
    if (!counting) return;
    for (let i = 0; i < 100; i++) if (index.matches('sha256', probe) === false) checks++;
  }, 1);
  h.enable();
  await new Promise((r) => setTimeout(r, 100));
  counting = true;
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  // A few more turns of the timers after the swap, so a pause at the very end is counted too.
  await new Promise((r) => setTimeout(r, 50));
  counting = false;
  h.disable();
  clearInterval(timer);
  const r = { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, gapMs: maxGap, checks, ms };
  log(`${name}: ${ms.toFixed(0)} ms, max event-loop delay ${r.maxMs.toFixed(1)} ms (p99 ${r.p99Ms.toFixed(1)} ms; largest gap of a 1 ms timer ${maxGap.toFixed(1)} ms), ${checks} checks answered meanwhile`);
  return r;
}

const builder = new WorkerBuilder({ onFallback: (err) => log(`worker unavailable, building inline: ${err.message}`) });
// Warm the worker (thread start and module load are a one-time cost of the process).
await index.compactAsync(builder, false);

const syncCompact = await measure('compact(), synchronous', () => index.compact(true));
for (let i = 0; i < 70_000; i++) index.add('sha256', churn[i] as string, 'police');
const asyncCompact = await measure('compactAsync(), worker thread', () => index.compactAsync(builder, true));

index.defineList({ id: 'police@2', enabled: false });
const syncCommit = await measure(`new generation of ${N} sha256${WITH_PDQ ? ` + ${N} pdq` : ''}, commit()`, () => fill(index, 'police@2', 11));
index.removeList('police@2');
index.compact();
index.defineList({ id: 'police@3', enabled: false });
const asyncCommit = await measure('the same, commitAsync() in a worker thread (bulk loading itself included)', async () => {
  const loader = index.bulkLoader();
  loader.reserve('sha256', N);
  if (WITH_PDQ) loader.reserve('pdq', N);
  const ref = loader.ref('police@3');
  const rnd = prng(11);
  const w = new Uint32Array(8);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 8; k++) w[k] = rnd();
    loader.addWords('sha256', w, 0, ref);
    if (WITH_PDQ) {
      for (let k = 0; k < 8; k++) w[k] = rnd();
      loader.addWords('pdq', w, 0, ref);
    }
    // The service feeds the loader chunk by chunk from the database, awaiting between chunks.
    if (i % 16_384 === 16_383) await new Promise((r) => setImmediate(r));
  }
  await loader.commitAsync(builder);
});
await builder.close();

const results: BenchResult[] = [
  { name: `hash-index compaction of ${N / 1e6}M sha256${WITH_PDQ ? ` + ${N / 1e6}M pdq` : ''}: max event-loop delay, worker thread (baseline: synchronous)`, value: round(asyncCompact.maxMs), unit: 'ms', baseline: round(syncCompact.maxMs), ratio: round(asyncCompact.maxMs / syncCompact.maxMs) },
  { name: `hash-index new ${N / 1e6}M-hash generation: max event-loop delay, commitAsync in a worker (baseline: commit)`, value: round(asyncCommit.maxMs), unit: 'ms', baseline: round(syncCommit.maxMs), ratio: round(asyncCommit.maxMs / syncCommit.maxMs) },
  { name: 'hash-index compaction: checks answered during it (1 ms timer, 100 per tick), worker (baseline: synchronous)', value: asyncCompact.checks, unit: 'checks', baseline: syncCompact.checks },
  { name: 'hash-index compaction wall time, worker thread (baseline: synchronous)', value: Math.round(asyncCompact.ms), unit: 'ms', baseline: Math.round(syncCompact.ms), ratio: round(asyncCompact.ms / syncCompact.ms) },
];
printResults(results);
