import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HASH_TYPES, HASH_WORDS, bytesToWords, isValidHashHex, parseHash, parseHexBytes, wordsToBytes, wordsToHex } from '@hashcheck/hash-index';

test('hex round-trips through words and bytes for every hash type', () => {
  for (const type of HASH_TYPES) {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: HASH_WORDS[type] * 4, maxLength: HASH_WORDS[type] * 4 }), (bytes) => {
        const hex = Buffer.from(bytes).toString('hex');
        const words = new Uint32Array(HASH_WORDS[type]);
        assert.equal(parseHash(type, hex, words), true);
        assert.equal(wordsToHex(words, 0, words.length), hex);
        assert.equal(parseHash(type, hex.toUpperCase(), words), true);
        assert.equal(wordsToHex(words, 0, words.length), hex);
        const back = new Uint8Array(bytes.length);
        wordsToBytes(words, 0, words.length, back);
        assert.deepEqual(back, bytes);
        const again = new Uint32Array(words.length);
        bytesToWords(bytes, again);
        assert.deepEqual(again, words);
      }),
      { numRuns: 50 },
    );
  }
});

test('word order equals hex string order', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (a, b) => {
      const ha = Buffer.from(a).toString('hex');
      const hb = Buffer.from(b).toString('hex');
      const wa = new Uint32Array(4);
      const wb = new Uint32Array(4);
      parseHash('md5', ha, wa);
      parseHash('md5', hb, wb);
      let c = 0;
      for (let i = 0; i < 4 && c === 0; i++) c = Math.sign((wa[i] as number) - (wb[i] as number));
      assert.equal(c, Math.sign(ha < hb ? -1 : ha > hb ? 1 : 0));
    }),
  );
});

test('malformed hex is rejected: wrong length, non-hex characters, non-ASCII', () => {
  const w = new Uint32Array(8);
  const good = 'a'.repeat(64);
  assert.equal(parseHash('sha256', good, w), true);
  assert.equal(isValidHashHex('sha256', good), true);
  for (const bad of ['a'.repeat(63), 'a'.repeat(65), '', 'g' + 'a'.repeat(63), 'a'.repeat(63) + ' ', 'ä' + 'a'.repeat(63), '0x' + 'a'.repeat(62), '\u0100' + 'a'.repeat(63)]) {
    assert.equal(parseHash('sha256', bad, w), false, JSON.stringify(bad));
    assert.equal(isValidHashHex('sha256', bad), false, JSON.stringify(bad));
  }
  assert.equal(parseHash('md5', 'a'.repeat(32), w), true);
  assert.equal(parseHash('md5', 'a'.repeat(40), w), false);
  assert.equal(parseHash('sha1', 'a'.repeat(40), w), true);
});

test('parseHexBytes agrees with parseHash on any bytes (valid, either case, or not hex at all)', () => {
  const hexChar = fc.constantFrom(...'0123456789abcdefABCDEF');
  const anyByte = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
  fc.assert(
    fc.property(fc.array(fc.oneof({ weight: 20, arbitrary: hexChar }, { weight: 1, arbitrary: anyByte }), { minLength: 64, maxLength: 64 }), fc.nat(7), (chars, pad) => {
      const text = chars.join('');
      const bytes = Buffer.concat([Buffer.alloc(pad, 0x22), Buffer.from(text, 'latin1')]);
      const a = new Uint32Array(8);
      const b = new Uint32Array(8);
      const ok = parseHash('sha256', text, a);
      assert.equal(parseHexBytes(bytes, pad, b, 0, 8), ok);
      if (ok) assert.deepEqual(b, a);
    }),
    { numRuns: 300 },
  );
  // Past the end of the bytes is not hex.
  assert.equal(parseHexBytes(Buffer.from('abcd'), 0, new Uint32Array(1), 0, 1), false);
});
