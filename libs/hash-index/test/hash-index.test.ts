import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { ChunkBuilder, HashIndex, HashIndexError, MANY_INVALID } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

function flipHex(h: string, bits: number[]): string {
  const b = Buffer.from(h, 'hex');
  for (const i of bits) b[i >>> 3] = (b[i >>> 3] as number) ^ (0x80 >>> (i & 7));
  return b.toString('hex');
}

test('exact matches report list, name and category; unknown and invalid hashes are told apart', () => {
  const idx = new HashIndex();
  idx.defineList({ id: 'police', name: 'Police list' });
  idx.defineList({ id: 'ncmec', name: 'NCMEC' });
  const h = hex(32);
  assert.equal(idx.add('sha256', h, 'police', { category: 'A1' }), 'added');
  assert.equal(idx.add('sha256', h.toUpperCase(), 'police', { category: 'A1' }), 'duplicate');
  assert.equal(idx.add('sha256', h, 'ncmec', { category: 'B', series: 's-1' }), 'added');
  assert.deepEqual(idx.check('sha256', h), [
    { list: 'ncmec', listName: 'NCMEC', category: 'B', series: 's-1', distance: 0 },
    { list: 'police', listName: 'Police list', category: 'A1', series: undefined, distance: 0 },
  ]);
  assert.deepEqual(idx.check('sha256', hex(32)), []);
  assert.equal(idx.check('sha256', h.slice(1)), undefined);
  assert.equal(idx.check('md5', h), undefined);
  assert.deepEqual(idx.check('md5', h.slice(0, 32)), []);
  assert.throws(() => idx.add('sha256', h, 'nope'), (e: unknown) => e instanceof HashIndexError && e.code === 'HC_INDEX_UNKNOWN_LIST');
  assert.throws(() => idx.add('sha1', 'zz', 'police'), (e: unknown) => e instanceof HashIndexError && e.code === 'HC_INDEX_INVALID_HASH');
  assert.throws(() => idx.defineList({ id: 'x', threshold: 64 }), (e: unknown) => e instanceof HashIndexError && e.code === 'HC_INDEX_INVALID_THRESHOLD');
  // Changing metadata replaces the entry instead of adding a second one.
  assert.equal(idx.add('sha256', h, 'police', { category: 'A2' }), 'updated');
  assert.deepEqual(idx.check('sha256', h)?.map((m) => `${m.list}:${m.category}`), ['ncmec:B', 'police:A2']);
  assert.equal(idx.getList('police')?.entries.sha256, 1);
});

test('retract, disable and remove take effect immediately, and survive compaction', () => {
  const idx = new HashIndex();
  idx.defineList({ id: 'a' });
  idx.defineList({ id: 'b' });
  const m = hex(16);
  idx.add('md5', m, 'a');
  idx.add('md5', m, 'b');
  assert.equal(idx.check('md5', m)?.length, 2);
  assert.equal(idx.retract('md5', m, 'a'), 1);
  assert.deepEqual(idx.check('md5', m)?.map((x) => x.list), ['b']);
  idx.setListEnabled('b', false);
  assert.deepEqual(idx.check('md5', m), []);
  idx.setListEnabled('b', true);
  assert.deepEqual(idx.check('md5', m)?.map((x) => x.list), ['b']);
  idx.compact(true);
  assert.deepEqual(idx.check('md5', m)?.map((x) => x.list), ['b']);
  assert.equal(idx.removeList('b'), true);
  assert.deepEqual(idx.check('md5', m), []);
  // Re-creating a removed list does not resurrect its old entries.
  idx.defineList({ id: 'b' });
  assert.deepEqual(idx.check('md5', m), []);
  idx.compact();
  assert.equal(idx.stats().types.md5.entries, 0);
});

test('per-list PDQ thresholds: each list matches within its own distance', () => {
  const idx = new HashIndex();
  idx.defineList({ id: 'strict', threshold: 10 });
  idx.defineList({ id: 'loose', threshold: 40 });
  const p = hex(32);
  idx.add('pdq', p, 'strict');
  idx.add('pdq', p, 'loose');
  const d = (k: number): string => flipHex(p, Array.from({ length: k }, (_v, i) => i * 3));
  assert.deepEqual(idx.check('pdq', d(10))?.map((x) => `${x.list}:${x.distance}`), ['loose:10', 'strict:10']);
  assert.deepEqual(idx.check('pdq', d(11))?.map((x) => x.list), ['loose']);
  assert.deepEqual(idx.check('pdq', d(40))?.map((x) => x.list), ['loose']);
  assert.deepEqual(idx.check('pdq', d(41)), []);
  idx.defineList({ id: 'loose', threshold: 31 });
  assert.deepEqual(idx.check('pdq', d(40)), []);
  assert.deepEqual(idx.check('pdq', d(31))?.map((x) => x.list), ['loose']);
});

test('bulk load merges with live entries; checks agree with a reference map (property)', () => {
  const types: HashType[] = ['md5', 'sha1', 'sha256', 'pdq'];
  const bytes = { md5: 16, sha1: 20, sha256: 32, pdq: 32 } as const;
  fc.assert(
    fc.property(
      fc.array(fc.record({ type: fc.constantFrom(...types), list: fc.constantFrom('l1', 'l2', 'l3'), seed: fc.nat(60), bulk: fc.boolean() }), { maxLength: 120 }),
      fc.array(fc.record({ type: fc.constantFrom(...types), list: fc.constantFrom('l1', 'l2', 'l3'), seed: fc.nat(60) }), { maxLength: 40 }),
      (adds, retracts) => {
        // Hashes are derived from small seeds so that adds and retracts hit the same values.
        const hashOf = (type: HashType, seed: number): string => Buffer.alloc(bytes[type], seed * 37 + 1).toString('hex');
        const idx = new HashIndex();
        for (const l of ['l1', 'l2', 'l3']) idx.defineList({ id: l, threshold: 0 });
        const ref = new Map<string, Set<string>>();
        const loader = idx.bulkLoader();
        const bulkSeen = new Set<string>();
        for (const a of adds) {
          const h = hashOf(a.type, a.seed);
          const key = `${a.type}:${h}`;
          if (a.bulk && !bulkSeen.has(`${key}/${a.list}`) && !(ref.get(key)?.has(a.list) ?? false)) {
            bulkSeen.add(`${key}/${a.list}`);
            assert.ok(loader.add(a.type, h, a.list));
          } else if (!a.bulk) {
            idx.add(a.type, h, a.list);
          } else continue;
          if (!ref.has(key)) ref.set(key, new Set());
          ref.get(key)?.add(a.list);
        }
        loader.commit();
        for (const r of retracts) {
          const h = hashOf(r.type, r.seed);
          idx.retract(r.type, h, r.list);
          ref.get(`${r.type}:${h}`)?.delete(r.list);
        }
        for (const t of types) {
          for (let s = 0; s <= 60; s++) {
            const h = hashOf(t, s);
            const want = [...(ref.get(`${t}:${h}`) ?? [])].sort();
            assert.deepEqual(idx.check(t, h)?.map((m) => m.list), want, `${t} seed ${s}`);
          }
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('removed lists are purged from the packed arrays on compaction; stats count bytes', () => {
  const idx = new HashIndex();
  idx.defineList({ id: 'x' });
  idx.defineList({ id: 'y' });
  const loader = idx.bulkLoader();
  loader.reserve('sha1', 2000);
  for (let i = 0; i < 1000; i++) {
    loader.add('sha1', hex(20), 'x');
    loader.add('sha1', hex(20), 'y');
  }
  loader.commit();
  assert.equal(idx.stats().types.sha1.entries, 2000);
  assert.ok(idx.stats().bytes > 2000 * 24);
  idx.removeList('x');
  idx.compact();
  assert.equal(idx.stats().types.sha1.entries, 1000);
  assert.equal(idx.getList('y')?.entries.sha1, 1000);
  assert.throws(() => loader.commit());
});

test('chunks load in bulk and apply incrementally, with per-entry metadata over list defaults', () => {
  const idx = new HashIndex();
  idx.defineList({ id: 'l' });
  const hashes = Array.from({ length: 300 }, () => hex(20));
  const plain = new ChunkBuilder('sha1', 'add', 200);
  const rest = new ChunkBuilder('sha1', 'add', 200);
  hashes.slice(0, 200).forEach((h) => plain.addHex(h));
  hashes.slice(200).forEach((h, i) => rest.addHex(h, i === 0 ? 'special' : undefined, i === 1 ? 'series-9' : undefined));
  const loader = idx.bulkLoader();
  loader.addChunk(plain.take(), 'l', { category: 'default-cat' });
  loader.addChunk(rest.take(), 'l', { category: 'default-cat' });
  loader.commit();
  assert.equal(idx.getList('l')?.entries.sha1, 300);
  assert.equal(idx.check('sha1', hashes[0] as string)?.[0]?.category, 'default-cat');
  assert.equal(idx.check('sha1', hashes[200] as string)?.[0]?.category, 'special');
  assert.equal(idx.check('sha1', hashes[201] as string)?.[0]?.series, 'series-9');
  assert.equal(idx.check('sha1', hashes[201] as string)?.[0]?.category, 'default-cat');
  const retract = new ChunkBuilder('sha1', 'retract', 10);
  retract.addHex(hashes[5] as string);
  retract.addHex(hex(20));
  assert.deepEqual(idx.applyChunk(retract.take(), 'l'), { changed: 1 });
  assert.deepEqual(idx.check('sha1', hashes[5] as string), []);
  const again = new ChunkBuilder('sha1', 'add', 10);
  again.addHex(hashes[5] as string);
  again.addHex(hashes[6] as string);
  assert.deepEqual(idx.applyChunk(again.take(), 'l', { category: 'default-cat' }), { changed: 1 });
  assert.equal(idx.check('sha1', hashes[5] as string)?.length, 1);
  assert.throws(() => idx.bulkLoader().addChunk(new ChunkBuilder('md5', 'retract').take(), 'l'), RangeError);
});

test('a new generation of a list loads under its own key and replaces the old one without a gap', () => {
  const idx = new HashIndex();
  const oldHash = hex(16);
  const newHash = hex(16);
  idx.defineList({ id: 'police', key: 'police@r1', name: 'Police' });
  idx.add('md5', oldHash, 'police@r1');
  idx.defineList({ id: 'police', key: 'police@r2', name: 'Police', enabled: false });
  const loader = idx.bulkLoader();
  loader.add('md5', newHash, 'police@r2');
  loader.commit();
  // Still the old generation until the swap.
  assert.deepEqual(idx.check('md5', newHash), []);
  assert.deepEqual(idx.check('md5', oldHash)?.map((m) => m.list), ['police']);
  idx.setListEnabled('police@r2', true);
  idx.removeList('police@r1');
  assert.deepEqual(idx.check('md5', oldHash), []);
  assert.deepEqual(idx.check('md5', newHash)?.map((m) => `${m.list}/${m.listName}`), ['police/Police']);
  assert.deepEqual(idx.listKeys(), ['police@r2']);
  assert.equal(idx.getList('police@r2')?.id, 'police');
});

test('matchesMany answers like matches() for every item: valid, invalid, non-ASCII, either case, disabled lists', () => {
  const idx = new HashIndex();
  idx.defineList({ id: 'a' });
  idx.defineList({ id: 'off', enabled: false });
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex')), { minLength: 1, maxLength: 40 }),
      fc.array(fc.oneof(fc.nat(60), fc.constantFrom('', 'zz', 'a\u0161'.repeat(20), 'ABCDEF'.repeat(7))), { maxLength: 1500 }),
      (stored, picks) => {
        stored.forEach((h, i) => idx.add('sha1', h, i % 3 === 0 ? 'off' : 'a'));
        const hexes = picks.map((p) => (typeof p === 'number' ? (p < stored.length ? (p % 2 ? (stored[p] as string).toUpperCase() : (stored[p] as string)) : 'f'.repeat(40)) : p));
        const found = new Uint8Array(hexes.length);
        const total = idx.matchesMany('sha1', hexes, found);
        const expected = hexes.map((h) => {
          const m = idx.matches('sha1', h);
          return m === undefined ? MANY_INVALID : m ? 1 : 0;
        });
        assert.deepEqual([...found], expected);
        assert.equal(total, expected.filter((e) => e === 1).length);
      },
    ),
    { numRuns: 40 },
  );
});
