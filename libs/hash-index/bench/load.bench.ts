// Load time and memory per hash: sealed (AES-256-GCM) binary chunks, as stored in MongoDB, are
// opened, decoded and bulk-loaded into the index. Default: 1.4 M SHA-256 + 1.4 M PDQ.
// HASHCHECK_BENCH_BIG=1 adds 10 M SHA-256 and 10 M PDQ (about 4 GB of RAM and a few minutes).
// Extrapolates memory and load time to 100 M from the largest size measured.
import { ChunkBuilder, ChunkCipher, HASH_BYTES, HashIndex, decodeChunk, encodeChunk } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';
import { heapBytes, log, prng, printResults, round } from './bench-util';
import type { BenchResult } from './bench-util';

const CHUNK = 16384;
const big = process.env.HASHCHECK_BENCH_BIG === '1';
const sizes = big ? [1_400_000, 10_000_000] : [1_400_000];
const cipher = new ChunkCipher({ secrets: { k1: 'bench-secret-bench-secret-bench-secret!' }, currentKeyId: 'k1' });

/** Builds the sealed chunk documents of one list: what the importer writes to MongoDB. */
function sealedChunks(type: HashType, n: number, seed: number): { docs: Buffer[]; sealMs: number; bytes: number } {
  const rnd = prng(seed);
  const words = new Uint32Array(8);
  const builder = new ChunkBuilder(type, 'add', CHUNK);
  const docs: Buffer[] = [];
  let sealMs = 0;
  let bytes = 0;
  const flush = (): void => {
    const t = performance.now();
    const doc = cipher.seal(encodeChunk(builder.take()), `bench/${type}/${docs.length}`);
    sealMs += performance.now() - t;
    bytes += doc.length;
    docs.push(doc);
  };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < words.length; k++) words[k] = rnd();
    builder.addWords(words, 0);
    if (builder.full) flush();
  }
  if (builder.size > 0) flush();
  return { docs, sealMs, bytes };
}

/**
 * One measurement in its own function: when it returns, its frame (and the index in it) is gone.
 * (In the module body, a suspended async frame kept the previous iteration's index alive and the
 * next "before" snapshot counted it.)
 */
async function measure(type: 'sha256' | 'pdq', n: number): Promise<{ loadMs: number; perEntry: number; typed: number }> {
  const label = `${(n / 1e6).toFixed(1)}M ${type}`;
  const { docs, sealMs, bytes } = sealedChunks(type, n, n + (type === 'pdq' ? 1 : 0));
  log(`${label}: ${docs.length} sealed chunks, ${(bytes / n).toFixed(2)} stored bytes/hash (raw ${HASH_BYTES[type]}), sealing took ${sealMs.toFixed(0)} ms`);
  const before = await heapBytes();
  const t0 = performance.now();
  const index = new HashIndex();
  index.defineList({ id: 'list', threshold: 31 });
  const loader = index.bulkLoader();
  loader.reserve(type, n);
  let openMs = 0;
  for (let i = 0; i < docs.length; i++) {
    const t = performance.now();
    const chunk = decodeChunk(cipher.open(docs[i] as Buffer, `bench/${type}/${i}`));
    openMs += performance.now() - t;
    loader.addChunk(chunk, 'list', { category: 'A1' });
  }
  const tc = performance.now();
  loader.commit();
  const commitMs = performance.now() - tc;
  const loadMs = performance.now() - t0;
  // The sealed documents were allocated before the snapshot and are still alive: the delta is the index.
  const mem = (await heapBytes()) - before;
  docs.length = 0;
  const perEntry = mem / n;
  const typed = index.stats().types[type].bytes / n;
  if (index.stats().types[type].entries !== n) throw new Error(`loaded ${index.stats().types[type].entries} of ${n}`);
  log(`${label}: loaded in ${loadMs.toFixed(0)} ms (decrypt+decode ${openMs.toFixed(0)} ms, index ${commitMs.toFixed(0)} ms), ${perEntry.toFixed(1)} B/hash measured, ${typed.toFixed(1)} B/hash in typed arrays`);
  return { loadMs, perEntry, typed };
}

const results: BenchResult[] = [];
const largest: Record<string, { n: number; ms: number; perEntry: number }> = {};
for (const n of sizes) {
  for (const type of ['sha256', 'pdq'] as const) {
    const label = `${(n / 1e6).toFixed(1)}M ${type}`;
    const { loadMs, perEntry, typed } = await measure(type, n);
    results.push({ name: `hash-index load ${label} from sealed chunks`, value: Math.round(loadMs), unit: 'ms' });
    results.push({ name: `hash-index memory ${label} (heap + array buffers delta)`, value: round(perEntry), unit: 'B/hash' });
    results.push({ name: `hash-index memory ${label} (typed arrays held)`, value: round(typed), unit: 'B/hash' });
    // Extrapolate from the larger of the two measures, to stay on the safe side.
    largest[type] = { n, ms: loadMs, perEntry: Math.max(perEntry, typed) };
  }
}
for (const [type, { n, ms, perEntry }] of Object.entries(largest)) {
  const f = 100e6 / n;
  const gb = (perEntry * 100e6) / 2 ** 30;
  log(`extrapolated to 100M ${type} from ${(n / 1e6).toFixed(1)}M: ${gb.toFixed(1)} GiB, load ${((ms * f) / 1000).toFixed(0)} s (linear)`);
  results.push({ name: `hash-index memory 100M ${type} (extrapolated from ${(n / 1e6).toFixed(1)}M)`, value: round(gb), unit: 'GiB' });
  results.push({ name: `hash-index load 100M ${type} (extrapolated from ${(n / 1e6).toFixed(1)}M)`, value: round((ms * f) / 1000), unit: 's' });
}
printResults(results);
