import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { ChunkBuilder, ChunkCipher, ChunkCipherError, ChunkCodecError, HASH_BYTES, HASH_TYPES, chunkHashWords, decodeChunk, encodeChunk, wordsToHex } from '@hashcheck/hash-index';
import type { HashChunk } from '@hashcheck/hash-index';

const SECRET_A = 'a'.repeat(40);
const SECRET_B = randomBytes(32);

test('chunks round-trip with and without per-entry metadata (property)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...HASH_TYPES),
      fc.constantFrom('add' as const, 'retract' as const),
      fc.array(fc.record({ cat: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }), series: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }) }), { maxLength: 50 }),
      (type, op, metas) => {
        const chunk: HashChunk = {
          type,
          op,
          count: metas.length,
          hashes: randomBytes(metas.length * HASH_BYTES[type]),
          categories: metas.map((m) => m.cat),
          series: metas.map((m) => m.series),
        };
        const decoded = decodeChunk(encodeChunk(chunk));
        assert.equal(decoded.type, type);
        assert.equal(decoded.op, op);
        assert.equal(decoded.count, metas.length);
        assert.deepEqual(Buffer.from(decoded.hashes), Buffer.from(chunk.hashes));
        const anyMeta = metas.some((m) => m.cat !== undefined || m.series !== undefined);
        assert.deepEqual(decoded.categories, anyMeta ? chunk.categories : undefined);
        assert.deepEqual(decoded.series, anyMeta ? chunk.series : undefined);
      },
    ),
  );
});

test('a chunk without metadata costs 12 header bytes plus the raw hashes', () => {
  const b = new ChunkBuilder('sha256', 'add', 1000);
  for (let i = 0; i < 1000; i++) assert.ok(b.addHex(randomBytes(32).toString('hex')));
  assert.ok(b.full);
  assert.equal(b.addHex('xyz'), false);
  const chunk = b.take();
  assert.equal(b.size, 0);
  assert.equal(encodeChunk(chunk).length, 12 + 32 * 1000);
  const w = new Uint32Array(8);
  chunkHashWords(chunk, 999, w);
  assert.equal(wordsToHex(w, 0, 8), Buffer.from(chunk.hashes.subarray(999 * 32)).toString('hex'));
});

test('corrupt chunks are rejected with a precise error', () => {
  const good = encodeChunk({ type: 'md5', op: 'add', count: 2, hashes: randomBytes(32), categories: ['x', undefined], series: undefined });
  for (const bad of [good.subarray(0, 5), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.of(0)]), Buffer.from('XXXX' + 'x'.repeat(40))]) {
    assert.throws(() => decodeChunk(bad), ChunkCodecError);
  }
  const wrongType = Buffer.from(good);
  wrongType[4] = 9;
  assert.throws(() => decodeChunk(wrongType), /unknown hash type/);
});

test('sealed chunks hide the hashes, authenticate bytes and context, and survive key rotation', () => {
  const plain = encodeChunk({ type: 'sha1', op: 'add', count: 100, hashes: randomBytes(2000) });
  const v1 = new ChunkCipher({ secrets: { k1: SECRET_A }, currentKeyId: 'k1' });
  const sealed = v1.seal(plain, 'list-1/rel-1/0');
  assert.equal(sealed.indexOf(Buffer.from(plain.subarray(12, 40))), -1, 'ciphertext must not contain the hashes');
  assert.deepEqual(v1.open(sealed, 'list-1/rel-1/0'), Buffer.from(plain));
  assert.throws(() => v1.open(sealed, 'list-1/rel-1/1'), (e: unknown) => e instanceof ChunkCipherError && e.code === 'HC_CHUNK_AUTH_FAILED');
  const tampered = Buffer.from(sealed);
  tampered[40] = (tampered[40] as number) ^ 1;
  assert.throws(() => v1.open(tampered, 'list-1/rel-1/0'), (e: unknown) => e instanceof ChunkCipherError && e.code === 'HC_CHUNK_AUTH_FAILED');
  // Rotation: the new ring opens old and new chunks; reseal moves a chunk to the new key.
  const v2 = new ChunkCipher({ secrets: { k1: SECRET_A, k2: SECRET_B }, currentKeyId: 'k2' });
  assert.deepEqual(v2.open(sealed, 'list-1/rel-1/0'), Buffer.from(plain));
  assert.equal(v2.needsReseal(sealed), true);
  const resealed = v2.reseal(sealed, 'list-1/rel-1/0');
  assert.equal(v2.keyIdOf(resealed), 'k2');
  assert.equal(v2.needsReseal(resealed), false);
  // Once the old key is dropped, old chunks are refused with a clear code, new ones still open.
  const v3 = new ChunkCipher({ secrets: { k2: SECRET_B }, currentKeyId: 'k2' });
  assert.throws(() => v3.open(sealed, 'list-1/rel-1/0'), (e: unknown) => e instanceof ChunkCipherError && e.code === 'HC_CHUNK_UNKNOWN_KEY');
  assert.deepEqual(v3.open(resealed, 'list-1/rel-1/0'), Buffer.from(plain));
  // Same secret, other key id: a different key.
  const other = new ChunkCipher({ secrets: { k9: SECRET_A }, currentKeyId: 'k9' });
  const forged = Buffer.from(sealed);
  forged.write('k9', 5);
  assert.throws(() => other.open(forged, 'list-1/rel-1/0'), ChunkCipherError);
  assert.throws(() => new ChunkCipher({ secrets: { k: 'short' }, currentKeyId: 'k' }), (e: unknown) => e instanceof ChunkCipherError && e.code === 'HC_CHUNK_BAD_SECRET');
  assert.throws(() => new ChunkCipher({ secrets: { k: SECRET_A }, currentKeyId: 'x' }), (e: unknown) => e instanceof ChunkCipherError && e.code === 'HC_CHUNK_UNKNOWN_KEY');
});
