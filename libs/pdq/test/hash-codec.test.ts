import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesToHex,
  hammingDistanceBytes,
  hammingDistanceWords,
  hexToBytes,
  isHashHex,
  isHashType,
  isPdqHex,
  normalizeHex,
  pdqBytesToHex,
  pdqDistance,
  pdqHexToBytes,
  pdqHexToWords,
  pdqWordsToHex,
  popcount32,
} from '@hashcheck/pdq';

const H1 = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
const H2 = 'd8f8f0cee0f4a84f0637022a038f67f0b36e2ed596631e1d33e6339c4e9c9b22';

test('isPdqHex accepts 64 hex digits only', () => {
  assert.ok(isPdqHex(H1));
  assert.ok(isPdqHex(H1.toUpperCase()));
  assert.ok(!isPdqHex(H1.slice(1)));
  assert.ok(!isPdqHex(H1 + '0'));
  assert.ok(!isPdqHex(H1.replace('d', 'g')));
  assert.ok(!isPdqHex(' ' + H1.slice(1)));
  assert.ok(!isPdqHex(undefined));
  assert.ok(!isPdqHex(12));
});

test('digest validation per type', () => {
  assert.ok(isHashHex('md5', 'd41d8cd98f00b204e9800998ecf8427e'));
  assert.ok(isHashHex('sha1', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'));
  assert.ok(isHashHex('sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'));
  assert.ok(!isHashHex('md5', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'));
  assert.ok(isHashType('pdq') && !isHashType('crc32') && !isHashType('toString'));
  assert.equal(normalizeHex('md5', 'D41D8CD98F00B204E9800998ECF8427E'), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.throws(() => normalizeHex('sha1', 'abc'), TypeError);
});

test('hex <-> bytes round trip keeps the written order', () => {
  const bytes = pdqHexToBytes(H1);
  assert.equal(bytes.length, 32);
  assert.equal(bytes[0], 0xd8);
  assert.equal(bytes[31], 0x22);
  assert.equal(pdqBytesToHex(bytes), H1);
  assert.equal(pdqBytesToHex(pdqHexToBytes(H1.toUpperCase())), H1);
  assert.deepEqual(hexToBytes('00ff10'), Uint8Array.of(0, 255, 16));
  assert.equal(bytesToHex(Uint8Array.of(0, 255, 16)), '00ff10');
  assert.throws(() => hexToBytes('abc'), TypeError);
  assert.throws(() => pdqHexToBytes('zz'), TypeError);
  assert.throws(() => pdqBytesToHex(new Uint8Array(31)), RangeError);
});

test('packed words round trip at an offset', () => {
  const packed = new Uint32Array(24);
  pdqHexToWords(H1, packed, 8);
  pdqHexToWords(H2, packed, 16);
  assert.equal(packed[8], 0xd8f8f0ce);
  assert.equal(pdqWordsToHex(packed, 8), H1);
  assert.equal(pdqWordsToHex(packed, 16), H2);
  assert.equal(hammingDistanceWords(packed, 8, packed, 16), pdqDistance(H1, H2));
  assert.equal(pdqWordsToHex(new Uint32Array(8)), '0'.repeat(64));
  assert.equal(pdqWordsToHex(pdqHexToWords('f'.repeat(64))), 'f'.repeat(64));
});

test('hamming distance', () => {
  assert.equal(pdqDistance(H1, H1), 0);
  assert.equal(pdqDistance(H1, H2), 2); // 2a07 -> 2a03 and 6621 -> 6631
  assert.equal(pdqDistance('0'.repeat(64), 'f'.repeat(64)), 256);
  assert.equal(pdqDistance('0'.repeat(63) + '1', '0'.repeat(64)), 1);
  assert.equal(hammingDistanceBytes(Uint8Array.of(0b1011), Uint8Array.of(0)), 3);
  assert.throws(() => hammingDistanceBytes(new Uint8Array(2), new Uint8Array(3)), RangeError);
  for (const [x, n] of [[0, 0], [1, 1], [0xffffffff, 32], [0x80000001, 2], [0x0f0f0f0f, 16]] as const) {
    assert.equal(popcount32(x), n);
  }
});
