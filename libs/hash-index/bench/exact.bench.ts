// Exact SHA-256 lookups with 1.4 M hashes loaded: the packed index against a JS Set of hex strings,
// same hashes, same queries, same process. Figures: lookups/s (wall and per CPU second) and bytes
// per entry (JS heap + array buffers after GC).
import { HashIndex } from '@hashcheck/hash-index';
import { hexOfWords, heapBytes, prng, printResults, rate, round } from './bench-util';
import type { BenchResult } from './bench-util';

const N = Number(process.env.HASHCHECK_BENCH_EXACT_N ?? 1_400_000);
const QUERIES = 1_000_000;
const SEED = 42;

// Queries first, so they are part of the baseline memory for both structures: alternately present
// (the first 500,000 stored hashes: random values, so spread over the whole sorted index) and absent.
const queries: string[] = new Array(QUERIES);
{
  const present = prng(SEED);
  const absent = prng(SEED + 1);
  const w = new Uint32Array(8);
  for (let i = 0; i < QUERIES; i++) {
    const src = i % 2 === 0 ? present : absent;
    for (let k = 0; k < 8; k++) w[k] = src();
    queries[i] = hexOfWords(w);
  }
  // No shuffle: the strings sit in memory in query order, as JSON.parse of a bulk request leaves
  // them (a shuffled array makes every string read a cache miss, for the Set as much as the index).
}

// The index: hashes stream into the bulk loader (no string per hash), then one commit.
let before = await heapBytes();
let t0 = performance.now();
const index = new HashIndex();
index.defineList({ id: 'police', name: 'Police' });
{
  const loader = index.bulkLoader();
  loader.reserve('sha256', N);
  const ref = loader.ref('police', { category: 'A1' });
  const rnd = prng(SEED);
  const w = new Uint32Array(8);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 8; k++) w[k] = rnd();
    loader.addWords('sha256', w, 0, ref);
  }
  loader.commit();
}
const buildMs = performance.now() - t0;
const indexBytes = await heapBytes() - before;

// matches(): parse the hex, look it up, answer yes/no (what Set.has answers, and what the EOKM endpoint needs).
let hits = 0;
const idxRate = rate(QUERIES, 5, () => {
  for (let i = 0; i < QUERIES; i++) if (index.matches('sha256', queries[i] as string) === true) hits++;
});
const idxHitsPerRound = hits / 6;
// matchesMany(): the batched form the bulk check uses (1,024 hashes copied to bytes in one native
// call, parsed, looked up as a batch whose cache misses overlap).
const found = new Uint8Array(QUERIES);
hits = 0;
const manyRate = rate(QUERIES, 5, () => {
  hits += index.matchesMany('sha256', queries, found);
});
if (hits / 6 !== idxHitsPerRound) throw new Error(`matchesMany found ${hits / 6} hits per round, matches() ${idxHitsPerRound}`);
// check(): the same plus a match object (list, category) per hit, as the bulk API needs.
hits = 0;
const checkRate = rate(QUERIES, 3, () => {
  for (let i = 0; i < QUERIES; i++) if ((index.check('sha256', queries[i] as string) as readonly unknown[]).length > 0) hits++;
});
if (hits / 4 !== idxHitsPerRound) throw new Error('check() and matches() disagree');

// Baseline: a Set of lowercase hex strings built from the same hashes.
before = await heapBytes();
t0 = performance.now();
const set = new Set<string>();
{
  const rnd = prng(SEED);
  const w = new Uint32Array(8);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 8; k++) w[k] = rnd();
    set.add(hexOfWords(w));
  }
}
const setBuildMs = performance.now() - t0;
const setBytes = await heapBytes() - before;
hits = 0;
const setRate = rate(QUERIES, 5, () => {
  for (let i = 0; i < QUERIES; i++) if (set.has(queries[i] as string)) hits++;
});
if (hits / 6 !== idxHitsPerRound) throw new Error(`index found ${idxHitsPerRound} hits per round, Set ${hits / 6}`);

const perEntry = indexBytes / N;
const setPerEntry = setBytes / N;
console.log(`sha256 entries: ${N.toLocaleString('en-US')}, queries per round: ${QUERIES.toLocaleString('en-US')} (50% present), hits per round: ${idxHitsPerRound}`);
console.log(`index: build ${buildMs.toFixed(0)} ms, ${perEntry.toFixed(1)} B/entry, ${Math.round(idxRate.wall).toLocaleString('en-US')} lookups/s wall, ${Math.round(idxRate.cpu).toLocaleString('en-US')} per CPU-s`);
console.log(`index matchesMany() (batched): ${Math.round(manyRate.wall).toLocaleString('en-US')} lookups/s wall, ${Math.round(manyRate.cpu).toLocaleString('en-US')} per CPU-s`);
console.log(`index check() with match objects: ${Math.round(checkRate.wall).toLocaleString('en-US')} lookups/s wall, ${Math.round(checkRate.cpu).toLocaleString('en-US')} per CPU-s`);
console.log(`Set:   build ${setBuildMs.toFixed(0)} ms, ${setPerEntry.toFixed(1)} B/entry, ${Math.round(setRate.wall).toLocaleString('en-US')} lookups/s wall, ${Math.round(setRate.cpu).toLocaleString('en-US')} per CPU-s`);
console.log(`index stats: ${JSON.stringify(index.stats().types.sha256)}`);

const results: BenchResult[] = [
  { name: 'hash-index sha256 lookups/s, 1.4M loaded (hex in, per CPU-second)', value: Math.round(idxRate.cpu), unit: 'lookups/s', baseline: Math.round(setRate.cpu), ratio: round(idxRate.cpu / setRate.cpu) },
  { name: 'hash-index sha256 lookups/s, 1.4M loaded (hex in, wall clock)', value: Math.round(idxRate.wall), unit: 'lookups/s', baseline: Math.round(setRate.wall), ratio: round(idxRate.wall / setRate.wall) },
  { name: 'hash-index sha256 batched lookups/s (matchesMany, hex in), 1.4M loaded (per CPU-second)', value: Math.round(manyRate.cpu), unit: 'lookups/s', baseline: Math.round(setRate.cpu), ratio: round(manyRate.cpu / setRate.cpu) },
  { name: 'hash-index sha256 check() with match objects/s, 1.4M loaded (per CPU-second)', value: Math.round(checkRate.cpu), unit: 'lookups/s', baseline: Math.round(setRate.cpu), ratio: round(checkRate.cpu / setRate.cpu) },
  { name: 'hash-index sha256 memory per entry, 1.4M (baseline: Set of hex strings)', value: round(perEntry), unit: 'B/entry', baseline: round(setPerEntry), ratio: round(perEntry / setPerEntry) },
  { name: 'hash-index sha256 build 1.4M from packed words', value: Math.round(buildMs), unit: 'ms', baseline: Math.round(setBuildMs), ratio: round(buildMs / setBuildMs) },
];
printResults(results);
