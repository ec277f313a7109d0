import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ExactIndex, parseHash, wordsToHex } from '@hashcheck/hash-index';

const hexKey = (width: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: width * 4, maxLength: width * 4 }).map((b) => Buffer.from(b).toString('hex'));

function words(hex: string, width: number): Uint32Array {
  const w = new Uint32Array(width);
  assert.ok(parseHash(width === 4 ? 'md5' : width === 5 ? 'sha1' : 'sha256', hex, w));
  return w;
}

function lookupRefs(idx: ExactIndex, hex: string, width: number): number[] {
  const n = idx.lookup(words(hex, width), 0);
  return [...idx.hits.subarray(0, n)].sort((a, b) => a - b);
}

for (const width of [4, 5, 8]) {
  test(`exact index (${width} words) agrees with a reference Set under loads, adds, retracts and compactions`, () => {
    type Op = { kind: 'add' | 'retract'; key: number; ref: number } | { kind: 'compact' } | { kind: 'load' };
    // Operations pick keys from a small pool (plus the initial keys) so adds and retracts collide.
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), key: fc.nat(40), ref: fc.integer({ min: 0, max: 3 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('retract' as const), key: fc.nat(40), ref: fc.integer({ min: 0, max: 3 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'load' as const }) },
    );
    fc.assert(
      fc.property(fc.array(hexKey(width), { minLength: 1, maxLength: 30 }), fc.array(hexKey(width), { maxLength: 200 }), fc.array(opArb, { maxLength: 150 }), (pool, initial, ops) => {
        const keyOf = (i: number): string => (i < pool.length ? (pool[i] as string) : (initial[i - pool.length] ?? (pool[0] as string)));
        const idx = new ExactIndex(width);
        // Reference: a Set of "key/ref" strings (multiset semantics are not needed: adds are deduplicated here).
        const ref = new Set<string>();
        const keys = new Uint32Array(initial.length * width);
        const refs = new Uint32Array(initial.length);
        let n = 0;
        for (const k of initial) {
          if (ref.has(`${k}/0`)) continue;
          ref.add(`${k}/0`);
          keys.set(words(k, width), n * width);
          refs[n++] = 0;
        }
        idx.load(keys, refs, n);
        const seen = new Set<string>(initial);
        for (const op of ops) {
          if (op.kind === 'add') {
            const key = keyOf(op.key);
            seen.add(key);
            if (!ref.has(`${key}/${op.ref}`)) {
              ref.add(`${key}/${op.ref}`);
              idx.add(words(key, width), 0, op.ref);
            }
          } else if (op.kind === 'retract') {
            const key = keyOf(op.key);
            const removed = idx.retract(words(key, width), 0, (r) => r === op.ref);
            assert.equal(removed, ref.delete(`${key}/${op.ref}`) ? 1 : 0);
          } else if (op.kind === 'compact') {
            idx.compact();
          } else {
            // Rebuild from the live entries in one go, as a bulk load does.
            const k2 = new Uint32Array(idx.size * width);
            const r2 = new Uint32Array(idx.size);
            let j = 0;
            idx.forEach((src, off, r) => {
              k2.set(src.subarray(off, off + width), j * width);
              r2[j++] = r;
            });
            idx.load(k2, r2, j);
          }
          assert.equal(idx.size, ref.size);
        }
        for (const k of seen) {
          const expected = [0, 1, 2, 3].filter((r) => ref.has(`${k}/${r}`));
          assert.deepEqual(lookupRefs(idx, k, width), expected, k);
        }
        // The batched lookup agrees with one lookup per key (in any order, with absent keys mixed in).
        const all = [...seen, 'e'.repeat(width * 8), '0'.repeat(width * 8)];
        const q = new Uint32Array(all.length * width);
        all.forEach((k, j) => q.set(words(k, width), j * width));
        const offs = Int32Array.from(all, (_k, j) => j * width);
        const found = new Uint8Array(all.length);
        const total = idx.lookupMany(q, offs, all.length, found);
        const expectFound = all.map((k) => (lookupRefs(idx, k, width).length > 0 ? 1 : 0));
        assert.deepEqual([...found], expectFound);
        assert.equal(total, expectFound.reduce((a: number, b) => a + b, 0));
        // Keys never added are never found.
        assert.deepEqual(lookupRefs(idx, 'e'.repeat(width * 8), width), ref.has(`${'e'.repeat(width * 8)}/0`) ? [0] : []);
      }),
      { numRuns: 100 },
    );
  });
}

test('exact index sorts large random loads and finds every key (bucket sort + per-bucket quicksort)', () => {
  const n = 50_000;
  const width = 8;
  const keys = new Uint32Array(n * width);
  for (let i = 0; i < keys.length; i++) keys[i] = (Math.random() * 2 ** 32) >>> 0;
  // Skewed block: many keys sharing a long prefix land in one bucket and exercise the quicksort path.
  for (let i = 0; i < 5000; i++) {
    keys[i * width] = 0x12345678;
    keys[i * width + 1] = i % 7;
  }
  const copy = keys.slice();
  const refs = Uint32Array.from({ length: n }, (_v, i) => i);
  const idx = new ExactIndex(width);
  idx.load(keys, refs, n);
  const q = new Uint32Array(width);
  for (let i = 0; i < n; i += 7) {
    q.set(copy.subarray(i * width, (i + 1) * width));
    const c = idx.lookup(q, 0);
    assert.ok([...idx.hits.subarray(0, c)].includes(i), `key ${i} (${wordsToHex(q, 0, width)}) not found`);
  }
  // Batched: every stored key (the skewed bucket takes the binary-search path) and as many absent ones.
  const absent = copy.map((v, i) => (i % width === width - 1 ? v ^ 1 : v));
  const both = new Uint32Array(2 * n * width);
  both.set(copy);
  both.set(absent, n * width);
  const found = new Uint8Array(2 * n);
  const total = idx.lookupMany(both, Int32Array.from({ length: 2 * n }, (_v, j) => j * width), 2 * n, found);
  assert.equal(total, n);
  assert.ok(found.subarray(0, n).every((f) => f === 1));
  assert.ok(found.subarray(n).every((f) => f === 0));
  // Sorted order is hex order.
  let prev = '';
  let count = 0;
  idx.forEach((src, off) => {
    const h = wordsToHex(src, off, width);
    assert.ok(prev <= h);
    prev = h;
    count++;
  });
  assert.equal(count, n);
});

test('disabled refs (negative limit) do not match; delta entries are found after growth and rehash', () => {
  const idx = new ExactIndex(4);
  const limits = new Int16Array([0, -1]);
  const k = new Uint32Array([1, 2, 3, 4]);
  idx.add(k, 0, 0);
  idx.add(k, 0, 1);
  assert.equal(idx.lookup(k, 0, limits), 1);
  assert.equal(idx.hits[0], 0);
  const found = new Uint8Array(1);
  assert.equal(idx.lookupMany(k, new Int32Array([0]), 1, found, new Int16Array([-1, -1])), 0);
  assert.equal(idx.lookupMany(k, new Int32Array([0]), 1, found, limits), 1);
  assert.equal(idx.lookup(k, 0), 2);
  for (let i = 0; i < 10_000; i++) idx.add(new Uint32Array([i, i, i, i]), 0, 0);
  for (let i = 0; i < 10_000; i += 97) assert.equal(idx.lookup(new Uint32Array([i, i, i, i]), 0), 1);
  assert.equal(idx.lookup(new Uint32Array([10_001, 0, 0, 0]), 0), 0);
  assert.equal(idx.deltaSize, 10_002);
  idx.compact();
  assert.equal(idx.deltaSize, 0);
  assert.equal(idx.size, 10_002);
  assert.equal(idx.lookup(k, 0), 2);
});
