// The bulk check's domain step in process (no HTTP, no infrastructure): request bytes -> parseCheckBody
// -> fastBulkCheck against an index holding 1.4 M exact (md5/sha1/sha256) and 1.4 M PDQ hashes,
// 10,000 items per request. Three variants, interleaved round by round in one process, reported per
// CPU-second of this process (the machine is shared):
//  - exact: 10 k exact hashes, 1 % present;
//  - mixed, batched: 1 % PDQ items (threshold 31), PDQ looked up in one batch (PdqIndex.searchMany);
//  - mixed, one search per PDQ item: the same bodies, PDQ answered one `search` at a time (the path
//    before the batch; the baseline).
// PDQ queries are random 256-bit values (BENCH_PDQ_NEAR=1: each a stored hash with 0-31 bits flipped,
// so each matches). HASHCHECK_BENCH_BULK_N changes the list sizes (default 1,400,000).
import { randomBytes } from 'node:crypto';
import { HashIndex } from '@hashcheck/hash-index';
import type { HashMatch, HashType } from '@hashcheck/hash-index';
import { parseCheckBody } from '../src/domain/bulk-body';
import { fastBulkCheck } from '../src/domain/bulk-check';
import type { BatchMatcher, PublicMatch } from '../src/domain/bulk-check';

const N = Number(process.env.HASHCHECK_BENCH_BULK_N ?? 1_400_000);
const ITEMS = 10_000;
const ROUNDS = Number(process.env.HASHCHECK_BENCH_BULK_ROUNDS ?? 5);
const NEAR = process.env.BENCH_PDQ_NEAR === '1';
const started = performance.now();
const log = (m: string): void => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${m}`);

let seed = 12345;
const rnd = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};

const EXACT = ['md5', 'sha1', 'sha256'] as const;
const WORDS = { md5: 4, sha1: 5, sha256: 8, pdq: 8 } as const;
const index = new HashIndex();
index.defineList({ id: 'bench-exact', name: 'Bench exact' });
index.defineList({ id: 'bench-pdq', name: 'Bench PDQ', threshold: 31 });
const exactWords = new Uint32Array(N * 8);
const pdqWords = new Uint32Array(N * 8);
for (let i = 0; i < exactWords.length; i++) exactWords[i] = rnd();
for (let i = 0; i < pdqWords.length; i++) pdqWords[i] = rnd();
{
  const loader = index.bulkLoader();
  for (const t of EXACT) loader.reserve(t, Math.ceil(N / 3));
  loader.reserve('pdq', N);
  const exactRef = loader.ref('bench-exact');
  const pdqRef = loader.ref('bench-pdq');
  for (let i = 0; i < N; i++) loader.addWords(EXACT[i % 3] as HashType, exactWords, i * 8, exactRef);
  for (let i = 0; i < N; i++) loader.addWords('pdq', pdqWords, i * 8, pdqRef);
  loader.commit();
}
log(`index built: ${N.toLocaleString('en-US')} exact + ${N.toLocaleString('en-US')} PDQ, ${(index.stats().bytes / 2 ** 20).toFixed(0)} MiB in typed arrays`);

const hexOf = (words: Uint32Array, off: number, n: number): string => {
  const b = Buffer.alloc(n * 4);
  for (let k = 0; k < n; k++) b.writeUInt32BE(words[off + k] as number, k * 4);
  return b.toString('hex');
};
function body(pdqShare: number): Buffer {
  const items: { type: string; hash: string }[] = [];
  const every = pdqShare > 0 ? Math.round(1 / pdqShare) : 0;
  for (let i = 0; i < ITEMS; i++) {
    if (every > 0 && i % every === 0) {
      if (NEAR) {
        const src = (rnd() % N) * 8;
        const w = pdqWords.slice(src, src + 8);
        const flips = rnd() % 32;
        for (let f = 0; f < flips; f++) {
          const bit = rnd() % 256;
          w[bit >>> 5] = (w[bit >>> 5] as number) ^ (1 << (bit & 31));
        }
        items.push({ type: 'pdq', hash: hexOf(w, 0, 8) });
      } else items.push({ type: 'pdq', hash: randomBytes(32).toString('hex') });
    } else if (i % 100 === 1) {
      const k = rnd() % N;
      const type = EXACT[k % 3] as (typeof EXACT)[number];
      items.push({ type, hash: hexOf(exactWords, k * 8, WORDS[type]) }); // present
    } else {
      const type = EXACT[i % 3] as (typeof EXACT)[number];
      items.push({ type, hash: randomBytes(WORDS[type] * 4).toString('hex') });
    }
  }
  return Buffer.from(JSON.stringify({ items }));
}

const toPublic = (ms: readonly HashMatch[]): readonly PublicMatch[] => ms.map((m) => ({ list: m.list, listName: m.listName, category: m.category ?? 'bench', distance: m.distance }));
// As ListEngine (BatchMatcher): the batched lookups of the index.
const batched: BatchMatcher = {
  matchMany: (t, w, o, c, f) => index.matchManyWords(t, w, o, c, f),
  matchWords: (t, w, o) => toPublic(index.checkWords(t, w, o)),
};
// The baseline: PDQ answered one search per item.
const single: BatchMatcher = {
  matchMany: (t, w, o, c, f) => {
    if (t !== 'pdq') return index.matchManyWords(t, w, o, c, f);
    let hits = 0;
    for (let j = 0; j < c; j++) {
      const hit = index.matchesWords('pdq', w, o[j] as number) ? 1 : 0;
      f[j] = hit;
      hits += hit;
    }
    return hits;
  },
  matchWords: batched.matchWords,
};

const exactBodies = Array.from({ length: 8 }, () => body(0));
const mixedBodies = Array.from({ length: 8 }, () => body(0.01));
log(`bodies: 8 x 10 k exact, 8 x 10 k with 1 % PDQ (${NEAR ? 'near stored hashes' : 'random'}), ${(mixedBodies[0] as Buffer).length} bytes each`);

function run(bodies: Buffer[], matcher: BatchMatcher): { perCpuS: number; matched: number } {
  let matched = 0;
  const c0 = process.cpuUsage();
  for (const b of bodies) {
    const parsed = parseCheckBody(b);
    if (parsed === undefined) throw new Error('bench body not on the byte path');
    matched += fastBulkCheck(parsed, ITEMS, matcher).matchedItems;
  }
  const c = process.cpuUsage(c0);
  return { perCpuS: (bodies.length * ITEMS) / ((c.user + c.system) / 1e6), matched };
}

const variants = [
  ['exact', exactBodies, batched],
  ['mixed, batched', mixedBodies, batched],
  ['mixed, one search per PDQ item', mixedBodies, single],
] as const;
const rates = new Map<string, number[]>();
const matchedBy = new Map<string, number>();
for (let r = 0; r <= ROUNDS; r++) {
  const order = r % 2 === 0 ? variants : [...variants].reverse();
  for (const [name, bodies, matcher] of order) {
    const { perCpuS, matched } = run(bodies as unknown as Buffer[], matcher);
    if (r === 0) continue; // warm-up
    rates.set(name, [...(rates.get(name) ?? []), perCpuS]);
    matchedBy.set(name, matched);
  }
}
const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1] as number;
for (const [name, a] of rates) log(`${name}: ${Math.round(med(a)).toLocaleString('en-US')} hashes per CPU-second (rounds: ${a.map((v) => Math.round(v / 1000) + 'k').join(' ')}), ${matchedBy.get(name)} items matched per round`);
if (matchedBy.get('mixed, batched') !== matchedBy.get('mixed, one search per PDQ item')) throw new Error('batched and single PDQ paths matched different items');
const exact = med(rates.get('exact') as number[]);
const mixed = med(rates.get('mixed, batched') as number[]);
const mixedSingle = med(rates.get('mixed, one search per PDQ item') as number[]);
// What the 100 PDQ items of a request cost, from the difference to the exact-only request.
const pdqUs = (perCpuS: number): number => ((ITEMS / perCpuS - ITEMS / exact) * 1e6) / (ITEMS / 100);
log(`per PDQ item (difference to the exact-only request): batched ${pdqUs(mixed).toFixed(0)} µs, one search each ${pdqUs(mixedSingle).toFixed(0)} µs`);
const round3 = (v: number): number => Number(v.toPrecision(3));
console.log(
  JSON.stringify({
    results: [
      { name: 'hash-check bulk check in process (parse + check), 10k exact hashes/request, 2.8M loaded (per CPU-second)', value: Math.round(exact), unit: 'hashes/s' },
      { name: `hash-check bulk check in process, 10k hashes/request with 1% PDQ (${NEAR ? 'near' : 'random'}), batched PDQ (per CPU-second; baseline one search per PDQ item)`, value: Math.round(mixed), unit: 'hashes/s', baseline: Math.round(mixedSingle), ratio: round3(mixed / mixedSingle) },
      { name: 'hash-check bulk check in process, CPU per PDQ item (batched; baseline one search each)', value: round3(pdqUs(mixed)), unit: 'µs', baseline: round3(pdqUs(mixedSingle)), ratio: round3(pdqUs(mixed) / pdqUs(mixedSingle)) },
    ],
  }),
);
