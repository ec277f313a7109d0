import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DIHEDRAL_NAMES,
  LUMA_COEFFS,
  PDQ_EMPTY_HASH,
  jaroszWindowSize,
  lumaFromPixels,
  pdqDistance,
  pdqHashLuma,
  pdqHashPixels,
  type DihedralName,
} from '@hashcheck/pdq';

// A deterministic, textured 64x64 luminance image. 64x64 input skips the blur (as in the
// reference), so pixel-exact transforms of it must give exactly the dihedral hashes.
function texture(n = 64): Float32Array {
  const out = new Float32Array(n * n);
  let s = 7;
  for (let i = 0; i < n * n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const y = Math.floor(i / n);
    const x = i % n;
    out[i] = (128 + 60 * Math.sin(x / 5) * Math.cos(y / 9) + (s >>> 24) / 8 + x - y / 2) % 256;
  }
  return out;
}

function transform(a: Float32Array, n: number, variant: DihedralName): Float32Array {
  const b = new Float32Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = a[y * n + x]!;
      const m = n - 1;
      // [row, col] of the pixel in the transformed image.
      const [r, c] = {
        original: [y, x],
        rotate90: [m - x, y], // counter-clockwise, as the reference names it
        rotate180: [m - y, m - x],
        rotate270: [x, m - y],
        flipX: [m - y, x],
        flipY: [y, m - x],
        flipPlus1: [x, y],
        flipMinus1: [m - x, m - y],
      }[variant];
      b[r! * n + c!] = v;
    }
  }
  return b;
}

test('jarosz window sizes follow the reference (ceil(old / 128))', () => {
  assert.equal(jaroszWindowSize(64, 64), 1);
  assert.equal(jaroszWindowSize(128, 64), 1);
  assert.equal(jaroszWindowSize(129, 64), 2);
  assert.equal(jaroszWindowSize(512, 64), 4);
  assert.equal(jaroszWindowSize(1004, 64), 8);
  assert.equal(jaroszWindowSize(1600, 64), 13);
});

test('luminance uses the reference coefficients; grey passes through', () => {
  const l = lumaFromPixels(Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30), 4, 1, 3);
  assert.equal(l[0], Math.fround(LUMA_COEFFS.r * 255));
  assert.ok(Math.abs(l[1]! - 0.587 * 255) < 1e-4);
  assert.ok(Math.abs(l[2]! - 0.114 * 255) < 1e-4);
  assert.ok(Math.abs(l[3]! - (0.299 * 10 + 0.587 * 20 + 0.114 * 30)) < 1e-4);
  assert.deepEqual([...lumaFromPixels(Uint8Array.of(7, 99, 8, 0), 2, 1, 2)], [7, 8]);
  assert.throws(() => lumaFromPixels(new Uint8Array(2), 2, 1, 3), RangeError);
});

test('hash has 128 bits set for a textured image, and hex is 64 lowercase digits', () => {
  const r = pdqHashLuma(texture(), 64, 64);
  assert.match(r.hash, /^[0-9a-f]{64}$/);
  const ones = [...r.hash].reduce((n, h) => n + parseInt(h, 16).toString(2).replaceAll('0', '').length, 0);
  assert.equal(ones, 128);
  assert.ok(r.quality > 50);
});

test('dihedral hashes equal the hashes of the transformed pixels', () => {
  const base = texture();
  const all = pdqHashLuma(Float32Array.from(base), 64, 64, { dihedral: true });
  assert.ok(all.dihedral);
  const seen = new Set<string>();
  for (const name of DIHEDRAL_NAMES) {
    const direct = pdqHashLuma(transform(base, 64, name), 64, 64);
    // Summation order differs between the two paths; allow a coefficient sitting on the median.
    assert.ok(pdqDistance(direct.hash, all.dihedral[name]) <= 2, `${name}: ${pdqDistance(direct.hash, all.dihedral[name])}`);
    seen.add(all.dihedral[name]);
  }
  assert.equal(seen.size, 8);
});

test('dihedral hashes stay close for transformed larger images (through the blur)', () => {
  const n = 300;
  const big = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) {
    const y = Math.floor(i / n);
    const x = i % n;
    big[i] = 128 + 50 * Math.sin(x / 17) * Math.cos(y / 23) + 40 * Math.sin((x + 2 * y) / 31);
  }
  const all = pdqHashLuma(Float32Array.from(big), n, n, { dihedral: true });
  for (const name of DIHEDRAL_NAMES) {
    const direct = pdqHashLuma(transform(big, n, name), n, n);
    assert.ok(pdqDistance(direct.hash, all.dihedral![name]) <= 10, name);
  }
});

test('small images give the empty hash', () => {
  assert.deepEqual(pdqHashLuma(new Float32Array(16), 4, 4), { hash: PDQ_EMPTY_HASH, quality: 0 });
  const r = pdqHashPixels(new Uint8Array(3 * 1000 * 4), 1000, 4, 3);
  assert.equal(r.hash, PDQ_EMPTY_HASH);
  assert.equal(r.width, 1000);
});

test('reference downsampling only applies above 512 px and keeps results close', () => {
  const w = 900;
  const h = 600;
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = 128 + 60 * Math.sin(x / 40) * Math.cos(y / 30) + 30 * Math.sin((x - y) / 25);
      px.fill(Math.max(0, Math.min(255, Math.round(v))), (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  }
  const ref = pdqHashPixels(px, w, h, 3);
  const full = pdqHashPixels(px, w, h, 3, { referenceDownsample: false });
  assert.notEqual(ref.hash, full.hash);
  assert.ok(pdqDistance(ref.hash, full.hash) <= 16);
  const small = px.subarray(0, 500 * 400 * 3);
  assert.equal(pdqHashPixels(small, 500, 400, 3).hash, pdqHashPixels(small, 500, 400, 3, { referenceDownsample: false }).hash);
});
