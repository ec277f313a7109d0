import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { HashIndex, HASH_TYPES } from '@hashcheck/hash-index';
import type { HashMatch, HashType } from '@hashcheck/hash-index';
import { isHashCheckError } from '@hashcheck/errors';
import { parseCheckBody } from '../src/domain/bulk-body';
import { bulkCheck, fastBulkCheck, type BatchMatcher, type Matcher, type PublicMatch } from '../src/domain/bulk-check';

const BYTES = { md5: 16, sha1: 20, sha256: 32, pdq: 32 } as const;

// One real index answers both paths: the general one (hex strings) and the batched one (words).
const index = new HashIndex();
index.defineList({ id: 'police', name: 'Police "NL"', threshold: 10 });
index.defineList({ id: 'ngo', name: 'NGO' });
const stored: { type: HashType; hash: string }[] = [];
for (const type of HASH_TYPES) {
  for (let i = 0; i < 8; i++) {
    const hash = randomBytes(BYTES[type]).toString('hex');
    index.add(type, hash, i % 2 ? 'police' : 'ngo', { category: i % 3 ? 'csam-a' : undefined });
    stored.push({ type, hash });
  }
}
const pub = (ms: readonly HashMatch[]): PublicMatch[] => ms.map((m) => ({ list: m.list, listName: m.listName, category: m.category ?? 'uncategorised', distance: m.distance }));
const general: Matcher = (t, h) => {
  const ms = index.check(t, h);
  return ms === undefined ? undefined : pub(ms);
};
const batched: BatchMatcher = {
  matchMany: (t, w, o, c, f) => index.matchManyWords(t, w, o, c, f),
  matchWords: (t, w, o) => pub(index.checkWords(t, w, o)),
};

const itemArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...stored) },
  { weight: 4, arbitrary: fc.constantFrom(...HASH_TYPES).map((type) => ({ type, hash: randomBytes(BYTES[type]).toString('hex') })) },
  { weight: 1, arbitrary: fc.constantFrom(...stored).map((s) => ({ type: s.type, hash: s.hash.toUpperCase() })) },
  // Near a stored PDQ hash (matches within the list threshold, or not).
  { weight: 1, arbitrary: fc.tuple(fc.nat(stored.length - 1), fc.nat(40)).map(([k, bits]) => {
    const pdqs = stored.filter((s) => s.type === 'pdq');
    const b = Buffer.from((pdqs[k % pdqs.length] as { hash: string }).hash, 'hex');
    for (let i = 0; i < bits; i++) b[i % 32] = (b[i % 32] as number) ^ (1 << ((i * 3) % 8));
    return { type: 'pdq' as HashType, hash: b.toString('hex') };
  }) },
  // Invalid hashes: wrong length, not hex, another type's length, non-ASCII.
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom(...HASH_TYPES), hash: fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('', 'zz'.repeat(16), 'é'.repeat(32), '0'.repeat(40), ' '.repeat(64))) }) },
);

function outcome(run: () => ReturnType<typeof bulkCheck>): unknown {
  try {
    return run();
  } catch (err) {
    assert.ok(isHashCheckError(err));
    return { error: err.code, message: err.message };
  }
}

test('the byte path answers exactly like the general path (results, counts, tallies, errors) for any items', () => {
  fc.assert(
    fc.property(fc.array(itemArb, { maxLength: 60 }), fc.constantFrom(undefined, 1, 2, '\t'), fc.boolean(), fc.integer({ min: 1, max: 80 }), (items, indent, hashFirst, maxItems) => {
      const shaped = hashFirst ? items.map((i) => ({ hash: i.hash, type: i.type })) : items;
      const text = JSON.stringify({ items: shaped }, null, indent);
      const fast = parseCheckBody(Buffer.from(text));
      // Strings with escapes (JSON.stringify escapes control characters and quotes) take the general path.
      const escaped = items.some((i) => [...i.hash].some((c) => c < " " || c === "\"" || c === "\\"));
      if (escaped) {
        assert.equal(fast, undefined);
        return;
      }
      assert.ok(fast, text.slice(0, 200));
      assert.equal(fast.count, items.length);
      // The PDQ items seen by the probing detector, with their matches, are the same on both paths too.
      const seenFast: { hash: string; matches: readonly PublicMatch[] }[] = [];
      const seenGeneral: { hash: string; matches: readonly PublicMatch[] }[] = [];
      const a = outcome(() => fastBulkCheck(fast, maxItems, batched, (start, len, matches) => seenFast.push({ hash: Buffer.from(fast.buf.buffer, fast.buf.byteOffset + start, len).toString('latin1'), matches })));
      const b = outcome(() =>
        bulkCheck(JSON.parse(text), maxItems, (t, h) => {
          const m = general(t, h);
          if (t === 'pdq' && m !== undefined) seenGeneral.push({ hash: h, matches: m });
          return m;
        }),
      );
      assert.deepEqual(a, b);
      if (!(b as { error?: string }).error) assert.deepEqual(seenFast, seenGeneral);
    }),
    { numRuns: 300 },
  );
});

test('anything but the plain shape is left to the JSON parser', () => {
  const h = 'a'.repeat(32);
  for (const text of [
    '',
    'null',
    '[]',
    '{}',
    '{"items":{}}',
    `{"items":[{"type":"md5","hash":"${h}","extra":1}]}`,
    `{"items":[{"type":"md5","type":"md5","hash":"${h}"}]}`,
    `{"items":[{"type":"md5"}]}`,
    `{"items":[{"type":"md6","hash":"${h}"}]}`,
    `{"items":[{"type":"md5","hash":12}]}`,
    `{"items":[{"type":"md5","hash":"\\u0061${h.slice(1)}"}]}`,
    `{"items":[{"type":"md5","hash":"${h}"}],"more":true}`,
    `{"items":[{"type":"md5","hash":"${h}"},]}`,
    `{"items":[{"type":"md5","hash":"${h}"}]`,
    `{"items":[{"type":"md5","hash":"${h}"}]}x`,
    `{"__proto__":{"items":[]}}`,
    `{"items":[{"type":"md5","hash":"${h}`,
  ]) {
    assert.equal(parseCheckBody(Buffer.from(text)), undefined, text);
  }
  const ok = parseCheckBody(Buffer.from(` \n{ "items" : [ ] }\r\n`));
  assert.equal(ok?.count, 0);
  assert.throws(() => fastBulkCheck(ok as NonNullable<typeof ok>, 10, batched), (err: unknown) => isHashCheckError(err) && err.code === 'HC_MALFORMED_BODY');
});
