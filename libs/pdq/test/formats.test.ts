// Every supported container and pixel layout hashes close to the reference hash of the same
// picture, and damaged or foreign input gives a coded error, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  PDQ_EMPTY_HASH,
  PdqErrorCode,
  decodeImage,
  isPdqError,
  isPdqHex,
  pdqDistance,
  pdqHashImage,
  pdqHashPixels,
  sniffImageFormat,
} from '@hashcheck/pdq';

function vectorsDir(): string {
  const fromEnv = process.env.PDQ_VECTORS_DIR;
  if (fromEnv) return resolve(fromEnv);
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return join(repoRoot, '..', 'shared', 'pdq-vectors');
}
const dir = vectorsDir();
const present = existsSync(join(dir, 'bridge-mods', 'square-512x512.jpg'));
// Reference hash of bridge-mods/square-512x512.jpg (expected.csv); 512 px keeps re-encoding fast.
const BRIDGE_REF = 'd8f8f0cec0f4a84f0637022a278f67f0b36e2ed596621e1d33e6339c4e9c9b22';

async function bridgeRgb(): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(join(dir, 'bridge-mods', 'square-512x512.jpg')).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function rawInput(img: { data: Buffer; width: number; height: number }, channels: 1 | 2 | 3 | 4 = 3) {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels } });
}

test('sniffs formats by content', () => {
  const b = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  assert.equal(sniffImageFormat(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0)), 'jpeg');
  assert.equal(sniffImageFormat(b('\x89PNG\r\n\x1a\n....')), 'png');
  assert.equal(sniffImageFormat(b('GIF89a......')), 'gif');
  assert.equal(sniffImageFormat(b('RIFF\0\0\0\0WEBPVP8 ')), 'webp');
  assert.equal(sniffImageFormat(b('II*\0....')), 'tiff');
  assert.equal(sniffImageFormat(b('MM\0*....')), 'tiff');
  assert.equal(sniffImageFormat(b('\0\0\0\x1cftypavif')), 'avif');
  assert.equal(sniffImageFormat(b('<svg xmlns="http://www.w3.org/2000/svg"/>')), null);
  assert.equal(sniffImageFormat(b('%PDF-1.7')), null);
  assert.equal(sniffImageFormat(new Uint8Array(0)), null);
  assert.equal(sniffImageFormat(Uint8Array.of(0xff, 0xd8)), null);
});

test('containers and pixel layouts hash close to the reference', { skip: !present }, async (t) => {
  const rgb = await bridgeRgb();
  const grey = await rawInput(rgb).greyscale().raw().toBuffer();
  const rgba = Buffer.alloc(rgb.width * rgb.height * 4);
  for (let p = 0; p < rgb.width * rgb.height; p++) {
    rgb.data.copy(rgba, p * 4, p * 3, p * 3 + 3);
    rgba[p * 4 + 3] = p % 7 === 0 ? 0 : 255; // some transparency; the colour under it still counts
  }
  const cases: Array<[string, Promise<Buffer>, string, number]> = [
    ['PNG RGB', rawInput(rgb).png().toBuffer(), 'png', 0],
    ['PNG 16-bit', rawInput(rgb).toColourspace('rgb16').png().toBuffer(), 'png', 0],
    ['PNG RGBA', sharp(rgba, { raw: { width: rgb.width, height: rgb.height, channels: 4 } }).png().toBuffer(), 'png', 0],
    ['PNG palette', rawInput(rgb).png({ palette: true, colours: 256, dither: 0 }).toBuffer(), 'png', 10],
    ['PNG grey', sharp(grey, { raw: { width: rgb.width, height: rgb.height, channels: 1 } }).png().toBuffer(), 'png', 10],
    ['TIFF', rawInput(rgb).tiff({ compression: 'lzw' }).toBuffer(), 'tiff', 0],
    ['TIFF CMYK', rawInput(rgb).toColourspace('cmyk').tiff().toBuffer(), 'tiff', 10],
    ['WebP lossless', rawInput(rgb).webp({ lossless: true }).toBuffer(), 'webp', 0],
    ['WebP lossy', rawInput(rgb).webp({ quality: 80 }).toBuffer(), 'webp', 10],
    ['GIF', rawInput(rgb).gif().toBuffer(), 'gif', 10],
    ['JPEG grey', sharp(grey, { raw: { width: rgb.width, height: rgb.height, channels: 1 } }).jpeg().toBuffer(), 'jpeg', 10],
    ['JPEG CMYK', rawInput(rgb).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(), 'jpeg', 10],
    ['AVIF', rawInput(rgb).avif({ quality: 70, effort: 0 }).toBuffer(), 'avif', 10],
  ];
  for (const [name, bytesP, format, max] of cases) {
    const bytes = await bytesP;
    const got = await pdqHashImage(bytes);
    const d = pdqDistance(got.hash, BRIDGE_REF);
    t.diagnostic(`${name}: distance ${d}, quality ${got.quality}`);
    assert.equal(got.format, format, name);
    assert.deepEqual([got.width, got.height], [rgb.width, rgb.height], name);
    assert.ok(d <= max, `${name}: distance ${d} > ${max}`);
    assert.ok(got.quality >= 80, `${name}: quality ${got.quality}`);
  }
});

test('GIF hashes its first frame', async () => {
  const frame = (v: number) => {
    const px = Buffer.alloc(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) px.fill((x * v + y * 3) & 0xff, (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
    return px;
  };
  const f1 = frame(4);
  const f2 = Buffer.from(f1.map((v) => 255 - v));
  const anim = await sharp(Buffer.concat([f1, f2]), { raw: { width: 64, height: 128, channels: 3, pageHeight: 64 } })
    .gif()
    .toBuffer();
  assert.equal((await sharp(anim).metadata()).pages, 2);
  const first = await pdqHashImage(anim);
  assert.deepEqual([first.width, first.height], [64, 64]);
  const direct = pdqHashPixels(f1, 64, 64, 3);
  const inverted = pdqHashPixels(f2, 64, 64, 3);
  assert.ok(pdqDistance(first.hash, direct.hash) < pdqDistance(first.hash, inverted.hash));
  assert.ok(pdqDistance(first.hash, direct.hash) <= 16);
});

test('images under 5 px on a side get the empty hash and quality 0; 5 px is hashed', async () => {
  for (const [w, h] of [[4, 4], [4, 100], [100, 4], [1, 1]] as const) {
    const png = await sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } }).png().toBuffer();
    const r = await pdqHashImage(png, { dihedral: true });
    assert.equal(r.hash, PDQ_EMPTY_HASH);
    assert.equal(r.quality, 0);
    assert.deepEqual(Object.values(r.dihedral!), Array(8).fill(PDQ_EMPTY_HASH));
  }
  const px = Buffer.alloc(5 * 5 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) & 0xff;
  const r = pdqHashPixels(px, 5, 5, 3);
  assert.notEqual(r.hash, PDQ_EMPTY_HASH);
  assert.ok(isPdqHex(r.hash));
});

test('a flat image hashes with quality 0', async () => {
  const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#336699' } }).png().toBuffer();
  const r = await pdqHashImage(png);
  assert.equal(r.quality, 0);
  assert.ok(isPdqHex(r.hash));
});

async function expectCode(input: Uint8Array | string, code: string) {
  await assert.rejects(pdqHashImage(input), (err: unknown) => {
    assert.ok(isPdqError(err), `PdqError expected, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.length > 0);
    return true;
  });
}

test('foreign, empty and unreadable input give coded errors', async () => {
  await expectCode(new Uint8Array(0), PdqErrorCode.EMPTY_INPUT);
  await expectCode(Buffer.from('just some text, not an image'), PdqErrorCode.UNSUPPORTED_FORMAT);
  await expectCode(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), PdqErrorCode.UNSUPPORTED_FORMAT);
  await expectCode(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5), PdqErrorCode.DECODE_FAILED);
  await expectCode(Buffer.from('\x89PNG\r\n\x1a\n garbage garbage garbage', 'latin1'), PdqErrorCode.DECODE_FAILED);
  await expectCode('/nonexistent/dir/picture.jpg', PdqErrorCode.READ_FAILED);
});

test('the pixel limit is enforced before decoding', async () => {
  const png = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#000' } }).png().toBuffer();
  await assert.rejects(pdqHashImage(png, { maxPixels: 100 * 100 }), (err: unknown) => {
    assert.ok(isPdqError(err));
    assert.equal(err.code, PdqErrorCode.IMAGE_TOO_LARGE);
    return true;
  });
});

test('truncated and corrupted files of every format give a hash or a coded error, never a crash', { skip: !present }, async (t) => {
  const src = sharp(join(dir, 'bridge-mods', 'square-256x256.jpg'));
  const samples: Record<string, Buffer> = {
    jpeg: readFileSync(join(dir, 'bridge-mods', 'square-256x256.jpg')),
    png: await src.clone().png().toBuffer(),
    gif: await src.clone().gif().toBuffer(),
    webp: await src.clone().webp().toBuffer(),
    tiff: await src.clone().tiff().toBuffer(),
    avif: await src.clone().avif({ effort: 0 }).toBuffer(),
  };
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const counts = { hashed: 0, errors: 0 };
  for (const [format, full] of Object.entries(samples)) {
    const variants: Buffer[] = [];
    for (const cut of [1, 2, 8, 16, 64, 200, Math.floor(full.length / 3), Math.floor(full.length / 2), full.length - 1]) {
      variants.push(full.subarray(0, cut));
    }
    for (let i = 0; i < 6; i++) {
      const bad = Buffer.from(full);
      for (let j = 0; j < 20; j++) bad[Math.floor(rand() * (bad.length - 16)) + 16] = Math.floor(rand() * 256);
      variants.push(bad);
    }
    for (const v of variants) {
      try {
        const r = await pdqHashImage(v);
        assert.ok(isPdqHex(r.hash));
        assert.ok(r.quality >= 0 && r.quality <= 100);
        counts.hashed++;
      } catch (err) {
        assert.ok(isPdqError(err), `${format} (${v.length} bytes): unexpected ${String(err)}`);
        counts.errors++;
      }
    }
  }
  t.diagnostic(`damaged inputs: ${counts.hashed} hashed, ${counts.errors} coded errors`);
  assert.ok(counts.errors > 0 && counts.hashed > 0);
});

test('decodeImage drops alpha and keeps grey as one channel', async () => {
  const la = await sharp(Buffer.alloc(10 * 10, 128), { raw: { width: 10, height: 10, channels: 1 } }).ensureAlpha(0.5).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(la).metadata()).channels, 2);
  const d = await decodeImage(la);
  assert.equal(d.channels, 1);
  assert.equal(d.pixels.length, 100);
  const rgba = await sharp(Buffer.alloc(10 * 10 * 4, 200), { raw: { width: 10, height: 10, channels: 4 } }).png().toBuffer();
  const d2 = await decodeImage(rgba);
  assert.equal(d2.channels, 3);
  assert.equal(d2.pixels.length, 300);
});
