// Conformance against Meta's test images and the hashes Meta's reference C++ hasher printed for
// them (shared/pdq-vectors, beside the repository checkout; PDQ_VECTORS_DIR overrides).
// Meta's bar: quality >= 80 images within Hamming distance 10 of the reference hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIHEDRAL_NAMES, pdqDistance, pdqHashImage } from '@hashcheck/pdq';

const MAX_DISTANCE = 10;
const MIN_QUALITY = 80;

function vectorsDir(): string {
  const fromEnv = process.env.PDQ_VECTORS_DIR;
  if (fromEnv) return resolve(fromEnv);
  // libs/pdq/test -> repository root -> its sibling shared/ (how CI lays the checkout out).
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return join(repoRoot, '..', 'shared', 'pdq-vectors');
}

const dir = vectorsDir();
const present = existsSync(join(dir, 'expected.csv'));

function csvRows(file: string): string[][] {
  return readFileSync(join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
}

test('the conformance vectors are present', () => {
  assert.ok(present, `PDQ vectors not found at ${dir}: put shared/ beside the checkout or set PDQ_VECTORS_DIR`);
});

test('every reference image hashes within distance 10 of the reference (quality >= 80)', { skip: !present }, async (t) => {
  const rows = csvRows('expected.csv');
  assert.ok(rows.length >= 40, 'expected.csv lists the reference images');
  const distances: number[] = [];
  const failures: string[] = [];
  for (const [expectedHash, expectedQuality, file] of rows) {
    assert.ok(expectedHash && expectedQuality && file, 'well-formed row');
    const got = await pdqHashImage(join(dir, file));
    const distance = pdqDistance(got.hash, expectedHash);
    const refQuality = Number(expectedQuality);
    t.diagnostic(
      `${file}: distance ${distance}, quality ${got.quality} (reference ${refQuality})` +
        (refQuality >= MIN_QUALITY ? '' : ' [below quality bar, reported only]'),
    );
    if (refQuality >= MIN_QUALITY) {
      distances.push(distance);
      if (distance > MAX_DISTANCE) failures.push(`${file}: distance ${distance}`);
      if (Math.abs(got.quality - refQuality) > 10) failures.push(`${file}: quality ${got.quality} vs ${refQuality}`);
    }
  }
  const exact = distances.filter((d) => d === 0).length;
  t.diagnostic(`summary: ${distances.length} images with quality >= ${MIN_QUALITY}, ${exact} exact, max distance ${Math.max(...distances)}`);
  assert.deepEqual(failures, []);
});

test('all eight dihedral hashes from one pass match the reference', { skip: !present }, async (t) => {
  const rows = csvRows('dihedral.csv');
  assert.ok(rows.length >= 1);
  for (const [file, hashes, quality] of rows) {
    assert.ok(file && hashes && quality);
    const expected = hashes.split(' ');
    assert.equal(expected.length, 8);
    const got = await pdqHashImage(join(dir, file), { dihedral: true });
    assert.ok(got.dihedral);
    assert.equal(got.dihedral.original, got.hash);
    const ds = DIHEDRAL_NAMES.map((name, i) => pdqDistance(got.dihedral![name], expected[i]!));
    t.diagnostic(`${file}: ${DIHEDRAL_NAMES.map((n, i) => `${n} ${ds[i]}`).join(', ')}`);
    if (Number(quality) >= MIN_QUALITY) {
      for (const [i, d] of ds.entries()) assert.ok(d <= MAX_DISTANCE, `${file} ${DIHEDRAL_NAMES[i]}: distance ${d}`);
    }
  }
});

test('a rotated file hashes like the matching dihedral variant of the original', { skip: !present }, async () => {
  const original = await pdqHashImage(join(dir, 'reg-test-input/dih/bridge-1-original.jpg'), { dihedral: true });
  const files = [
    'bridge-1-original.jpg',
    'bridge-2-rotate-90.jpg',
    'bridge-3-rotate-180.jpg',
    'bridge-4-rotate-270.jpg',
    'bridge-5-flipx.jpg',
    'bridge-6-flipy.jpg',
    'bridge-7-flip-plus-1.jpg',
    'bridge-8-flip-minus-1.jpg',
  ];
  for (const [i, f] of files.entries()) {
    const got = await pdqHashImage(join(dir, 'reg-test-input/dih', f));
    const d = pdqDistance(got.hash, original.dihedral![DIHEDRAL_NAMES[i]!]);
    // Re-encoded JPEGs, so not bit-exact; unrelated images sit near 128.
    assert.ok(d <= 32, `${f}: distance ${d} to ${DIHEDRAL_NAMES[i]}`);
  }
});

test('EXIF orientation is ignored by default, as the reference does', { skip: !present }, async () => {
  const expected = new Map(csvRows('expected.csv').map(([h, , f]) => [f, h]));
  for (const n of [3, 6, 8]) {
    const file = `reg-test-input/exif-rotn/exif-rotn-${n}.jpg`;
    const asStored = await pdqHashImage(join(dir, file));
    const oriented = await pdqHashImage(join(dir, file), { autoOrient: true });
    assert.equal(pdqDistance(asStored.hash, expected.get(file)!), 0, `${file} as stored`);
    assert.ok(pdqDistance(oriented.hash, expected.get(file)!) > 32, `${file}: auto-oriented differs from the reference`);
    if (n !== 3) assert.deepEqual([oriented.width, oriented.height], [asStored.height, asStored.width]);
  }
});
