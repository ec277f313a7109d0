// PDQ near-match queries at threshold 31 with 1.4 M PDQ hashes loaded: the multi-index search
// against a brute-force scan of the same index in the same run, with recall measured against it.
import { HashIndex, parseHash } from '@hashcheck/hash-index';
import { heapBytes, hexOfWords, log, prng, printResults, rate, round } from './bench-util';
import type { BenchResult } from './bench-util';

const N = Number(process.env.HASHCHECK_BENCH_PDQ_N ?? 1_400_000);
const QUERIES = 5000;
const BRUTE = 40; // brute force costs one full scan per query
const T = 31;
const SEED = 7;

const rnd = prng(SEED);
const hashes = new Uint32Array(N * 8);
for (let i = 0; i < hashes.length; i++) hashes[i] = rnd();

// Queries: 1 in 5 is a stored hash with up to 31 bits flipped (a planted near match), the rest random.
const queries: string[] = [];
{
  const q = new Uint32Array(8);
  for (let i = 0; i < QUERIES; i++) {
    if (i % 5 === 0) {
      const src = (rnd() % N) * 8;
      q.set(hashes.subarray(src, src + 8));
      const flips = rnd() % (T + 1);
      for (let f = 0; f < flips; f++) {
        const b = rnd() % 256;
        q[b >>> 5] = (q[b >>> 5] as number) ^ (1 << (b & 31));
      }
    } else {
      for (let k = 0; k < 8; k++) q[k] = rnd();
    }
    queries.push(hexOfWords(q));
  }
}

log(`generating done; building the index of ${N.toLocaleString('en-US')} PDQ hashes`);
// Built in a function: its frame is gone when it returns (a module-level async frame can keep
// temporaries alive and skew the memory delta).
async function build(): Promise<{ index: HashIndex; buildMs: number; bytes: number }> {
  const before = await heapBytes();
  const t0 = performance.now();
  const index = new HashIndex();
  index.defineList({ id: 'pdq-list', threshold: T });
  const loader = index.bulkLoader();
  loader.reserve('pdq', N);
  const ref = loader.ref('pdq-list');
  for (let i = 0; i < N; i++) loader.addWords('pdq', hashes, i * 8, ref);
  loader.commit();
  const buildMs = performance.now() - t0;
  return { index, buildMs, bytes: (await heapBytes()) - before }; // `hashes` (the input) existed before the snapshot
}
const { index, buildMs, bytes } = await build();
const typed = index.stats().types.pdq.bytes;
log(`built in ${buildMs.toFixed(0)} ms, ${(bytes / N).toFixed(1)} B/entry measured, ${(typed / N).toFixed(1)} B/entry in typed arrays`);

let found = 0;
const mih = rate(QUERIES, 3, () => {
  for (const q of queries) found += (index.check('pdq', q) as readonly unknown[]).length;
});
log(`multi-index: ${Math.round(mih.wall)} queries/s wall, ${Math.round(mih.cpu)} per CPU-s, ${found / 4} matches per round`);

// Batched: the bulk check's path (matchManyWords -> PdqIndex.searchMany, which prefetches the next
// query's buckets), yes/no per query, on the same queries parsed to words once.
const qWords = new Uint32Array(QUERIES * 8);
queries.forEach((q, i) => parseHash('pdq', q, qWords, i * 8));
const qOffs = Int32Array.from({ length: QUERIES }, (_v, i) => i * 8);
const qFound = new Uint8Array(QUERIES);
let foundBatched = 0;
const batched = rate(QUERIES, 3, () => {
  foundBatched = index.matchManyWords('pdq', qWords, qOffs, QUERIES, qFound);
});
let foundSingle = 0;
for (let i = 0; i < QUERIES; i++) if (index.matchesWords('pdq', qWords, i * 8)) foundSingle++;
log(`batched (matchManyWords): ${Math.round(batched.wall)} queries/s wall, ${Math.round(batched.cpu)} per CPU-s; ${foundBatched} queries matched (one at a time: ${foundSingle})`);
if (foundBatched !== foundSingle) throw new Error(`batched search found ${foundBatched} matching queries, single search ${foundSingle}`);

// Brute force on a subset (half planted, half random), and recall of the index against it.
const subset = queries.filter((_q, i) => i % 5 === 0).slice(0, BRUTE / 2).concat(queries.filter((_q, i) => i % 5 !== 0).slice(0, BRUTE / 2));
const key = (ms: readonly { list: string; distance: number }[] | undefined): string[] => (ms ?? []).map((m) => `${m.list}:${m.distance}`).sort();
const wants: string[][] = [];
const brute = rate(subset.length, 1, () => {
  for (const q of subset) wants.push(key(index.checkPdqBruteForce(q)));
}, 0);
let expected = 0;
let recalled = 0;
subset.forEach((q, i) => {
  const got = new Set(key(index.check('pdq', q)));
  for (const w of wants[i] ?? []) {
    expected++;
    if (got.has(w)) recalled++;
  }
});
const recall = expected === 0 ? 1 : recalled / expected;
log(`brute force: ${brute.wall.toFixed(1)} queries/s wall, ${brute.cpu.toFixed(1)} per CPU-s; recall ${recalled}/${expected} = ${recall}`);
if (expected < BRUTE / 2) throw new Error(`only ${expected} expected matches in the brute-force subset: planted queries missing`);

const results: BenchResult[] = [
  { name: 'hash-index pdq queries/s at t=31, 1.4M loaded (per CPU-second; baseline brute force)', value: Math.round(mih.cpu), unit: 'queries/s', baseline: round(brute.cpu), ratio: round(mih.cpu / brute.cpu) },
  { name: 'hash-index pdq queries/s at t=31, 1.4M loaded (wall clock; baseline brute force)', value: Math.round(mih.wall), unit: 'queries/s', baseline: round(brute.wall), ratio: round(mih.wall / brute.wall) },
  { name: 'hash-index pdq queries/s at t=31, 1.4M loaded, batched yes/no (matchManyWords, as the bulk check; per CPU-second; baseline one search per query)', value: Math.round(batched.cpu), unit: 'queries/s', baseline: Math.round(mih.cpu), ratio: round(batched.cpu / mih.cpu) },
  { name: 'hash-index pdq recall vs brute force at t=31', value: recall, unit: 'fraction', baseline: 1, ratio: recall },
  { name: 'hash-index pdq memory per entry, 1.4M (heap + array buffers delta)', value: round(bytes / N), unit: 'B/entry' },
  { name: 'hash-index pdq memory per entry, 1.4M (typed arrays held)', value: round(typed / N), unit: 'B/entry' },
  { name: 'hash-index pdq build 1.4M', value: Math.round(buildMs), unit: 'ms' },
];
printResults(results);
