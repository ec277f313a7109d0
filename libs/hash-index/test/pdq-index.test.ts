import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PdqIndex, hamming256 } from '@hashcheck/hash-index';

/** Deterministic PRNG so fast-check only has to shrink a seed and a few sizes. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function flipBits(src: Uint32Array, off: number, k: number, rnd: () => number): Uint32Array {
  const out = src.slice(off, off + 8);
  const flipped = new Set<number>();
  while (flipped.size < k) flipped.add(rnd() % 256);
  for (const b of flipped) out[b >>> 5] = (out[b >>> 5] as number) ^ (1 << (b & 31));
  return out;
}

function results(idx: PdqIndex, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${idx.hits[i]}:${idx.dists[i]}`);
  return out.sort();
}

test('PDQ search equals brute force (recall 1.0, each entry once) with planted near neighbours, per-ref thresholds, deltas and retractions', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        base: fc.integer({ min: 0, max: 1500 }),
        delta: fc.integer({ min: 0, max: 200 }),
        retracts: fc.integer({ min: 0, max: 50 }),
        refs: fc.integer({ min: 1, max: 6 }),
        maxT: fc.integer({ min: 0, max: 63 }),
        compactAfter: fc.boolean(),
      }),
      ({ seed, base, delta, retracts, refs, maxT, compactAfter }) => {
        const rnd = prng(seed);
        // Clusters: every 4th hash is a near copy of an earlier one, so several entries match one query.
        const total = base + delta;
        const all = new Uint32Array(total * 8);
        for (let i = 0; i < total; i++) {
          if (i > 0 && i % 4 === 0) all.set(flipBits(all, (rnd() % i) * 8, rnd() % 40, rnd), i * 8);
          else for (let k = 0; k < 8; k++) all[i * 8 + k] = rnd();
        }
        const refOf = (i: number): number => i % refs;
        const idx = new PdqIndex();
        idx.load(all.slice(0, base * 8), Uint32Array.from({ length: base }, (_v, i) => refOf(i)), base);
        for (let i = base; i < total; i++) idx.add(all, i * 8, refOf(i));
        for (let r = 0; r < retracts && total > 0; r++) {
          const victim = rnd() % total;
          idx.retract(all, victim * 8, (ref) => ref === refOf(victim));
        }
        if (compactAfter) idx.compact();
        // Per-ref limits up to maxT; one ref disabled (-1).
        const limits = new Int16Array(refs);
        for (let r = 0; r < refs; r++) limits[r] = r === 1 ? -1 : rnd() % (maxT + 1);
        limits[0] = maxT;
        for (let qn = 0; qn < 25; qn++) {
          let q: Uint32Array;
          if (total > 0 && qn % 5 !== 4) q = flipBits(all, (rnd() % total) * 8, rnd() % (maxT + 8), rnd);
          else q = Uint32Array.from({ length: 8 }, () => rnd());
          const got = results(idx, idx.search(q, 0, maxT, limits));
          const want = results(idx, idx.bruteForce(q, 0, maxT, limits));
          assert.deepEqual(got, want);
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('every threshold 0..63 finds a hash planted at exactly that distance, and not at distance + 1', () => {
  const rnd = prng(7);
  const n = 3000;
  const hashes = Uint32Array.from({ length: n * 8 }, () => rnd());
  const idx = new PdqIndex();
  idx.load(hashes.slice(), new Uint32Array(n), n);
  for (let t = 0; t <= 63; t++) {
    const limits = new Int16Array([t]);
    const target = rnd() % n;
    const at = flipBits(hashes, target * 8, t, rnd);
    assert.equal(hamming256(at, 0, hashes, target * 8), t);
    let c = idx.search(at, 0, t, limits);
    assert.ok([...idx.dists.subarray(0, c)].includes(t), `threshold ${t}: planted hash at distance ${t} not found`);
    const beyond = flipBits(hashes, target * 8, t + 1, rnd);
    c = idx.search(beyond, 0, t, limits);
    assert.deepEqual(results(idx, c), results(idx, idx.bruteForce(beyond, 0, t, limits)));
  }
});

test('added PDQ hashes match at once, retracted ones stop at once, before and after compaction', () => {
  const rnd = prng(99);
  const idx = new PdqIndex();
  const limits = new Int16Array([31, 31]);
  const h = Uint32Array.from({ length: 8 }, () => rnd());
  const near = flipBits(h, 0, 20, rnd);
  assert.equal(idx.search(near, 0, 31, limits), 0);
  idx.add(h, 0, 0);
  assert.equal(idx.search(near, 0, 31, limits), 1);
  assert.equal(idx.dists[0], 20);
  idx.add(h, 0, 1);
  assert.equal(idx.findExact(h, 0), 2);
  assert.equal(idx.retract(h, 0, (r) => r === 0), 1);
  assert.equal(idx.search(near, 0, 31, limits), 1);
  assert.equal(idx.hits[0], 1);
  idx.compact();
  assert.equal(idx.size, 1);
  assert.equal(idx.search(near, 0, 31, limits), 1);
  assert.equal(idx.retract(h, 0, () => true), 1);
  assert.equal(idx.search(near, 0, 31, limits), 0);
  assert.equal(idx.search(near, 0, 19, limits), 0);
  assert.throws(() => idx.search(near, 0, 64, limits), RangeError);
});

test('searchMany (the batched yes/no with prefetching) answers exactly as brute force, query by query, with deltas, retractions and per-ref limits', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        base: fc.integer({ min: 0, max: 1500 }),
        delta: fc.integer({ min: 0, max: 200 }),
        retracts: fc.integer({ min: 0, max: 50 }),
        refs: fc.integer({ min: 1, max: 6 }),
        maxT: fc.integer({ min: -1, max: 63 }),
        queries: fc.integer({ min: 0, max: 40 }),
        compactAfter: fc.boolean(),
      }),
      ({ seed, base, delta, retracts, refs, maxT, queries, compactAfter }) => {
        const rnd = prng(seed);
        const total = base + delta;
        const all = new Uint32Array(total * 8);
        for (let i = 0; i < total; i++) {
          if (i > 0 && i % 4 === 0) all.set(flipBits(all, (rnd() % i) * 8, rnd() % 40, rnd), i * 8);
          else for (let k = 0; k < 8; k++) all[i * 8 + k] = rnd();
        }
        const refOf = (i: number): number => i % refs;
        const idx = new PdqIndex();
        idx.load(all.slice(0, base * 8), Uint32Array.from({ length: base }, (_v, i) => refOf(i)), base);
        for (let i = base; i < total; i++) idx.add(all, i * 8, refOf(i));
        for (let r = 0; r < retracts && total > 0; r++) {
          const victim = rnd() % total;
          idx.retract(all, victim * 8, (ref) => ref === refOf(victim));
        }
        if (compactAfter) idx.compact();
        const limits = new Int16Array(refs);
        for (let r = 0; r < refs; r++) limits[r] = r === 1 ? -1 : rnd() % (Math.max(0, maxT) + 1);
        limits[0] = maxT;
        // The queries at scattered offsets of one words array (as the bulk check lays them out), with gaps.
        const words = new Uint32Array((queries * 2 + 1) * 8);
        const offs = new Int32Array(queries);
        for (let k = 0; k < queries; k++) {
          const o = (k * 2 + (rnd() & 1)) * 8;
          offs[k] = o;
          if (total > 0 && k % 5 !== 4) words.set(flipBits(all, (rnd() % total) * 8, rnd() % (Math.max(0, maxT) + 8), rnd), o);
          else for (let w = 0; w < 8; w++) words[o + w] = rnd();
        }
        const found = new Uint8Array(queries + 1).fill(7);
        const n = idx.searchMany(words, offs, queries, maxT, limits, found);
        let want = 0;
        for (let k = 0; k < queries; k++) {
          const hit = maxT >= 0 && idx.bruteForce(words, offs[k] as number, maxT, limits) > 0 ? 1 : 0;
          assert.equal(found[k], hit, `query ${k}`);
          want += hit;
        }
        assert.equal(n, want);
        assert.equal(found[queries], 7, 'nothing written past count');
      },
    ),
    { numRuns: 60 },
  );
});

test('searchMany: every threshold 0..63 finds a hash planted at exactly that distance among unrelated queries, and not at distance + 1', () => {
  const rnd = prng(11);
  const n = 3000;
  const hashes = Uint32Array.from({ length: n * 8 }, () => rnd());
  const idx = new PdqIndex();
  idx.load(hashes.slice(), new Uint32Array(n), n);
  for (let t = 0; t <= 63; t++) {
    const limits = new Int16Array([t]);
    const target = rnd() % n;
    // Query 1 at exactly t, query 3 at t + 1 from the target; 0, 2, 4 random.
    const words = Uint32Array.from({ length: 5 * 8 }, () => rnd());
    words.set(flipBits(hashes, target * 8, t, rnd), 8);
    words.set(flipBits(hashes, target * 8, t + 1, rnd), 24);
    const offs = Int32Array.from([0, 8, 16, 24, 32]);
    const found = new Uint8Array(5);
    idx.searchMany(words, offs, 5, t, limits, found);
    assert.equal(found[1], 1, `threshold ${t}: planted hash at distance ${t} not found`);
    for (const k of [0, 2, 3, 4]) assert.equal(found[k], idx.bruteForce(words, k * 8, t, limits) > 0 ? 1 : 0, `threshold ${t}, query ${k}`);
  }
});
