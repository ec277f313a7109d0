// PDQ images per second on 1-megapixel JPEGs, one thread: with decoding (bytes -> hash, what the
// scanner does per image) and without (decoded pixels -> hash), plus the dihedral variant.
//   npx tsx libs/pdq/bench/pdq.bench.ts [seconds per measurement, default 5]
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImage, pdqHashImage, pdqHashPixels } from '@hashcheck/pdq';

const seconds = Number(process.argv[2] ?? 5);
sharp.concurrency(1); // one core's worth, as in a scanner worker thread
sharp.cache(false);

// Natural photos when the conformance images are around (CI layout), else synthetic texture.
const vectors = process.env.PDQ_VECTORS_DIR ?? join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), '..', 'shared', 'pdq-vectors');
const sources = [
  'bridge-mods/aaa-orig.jpg',
  'reg-test-input/exif-rotn/exif-rotn-1.jpg',
  'reg-test-input/exif-rotn/exif-rotn-3.jpg',
  'reg-test-input/exif-rotn/exif-rotn-6.jpg',
  'reg-test-input/exif-rotn/exif-rotn-8.jpg',
  'misc-images/c.png',
  'reg-test-input/pen-and-coaster.png',
].map((f) => join(vectors, f));

async function oneMegapixelJpegs(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  if (sources.every((s) => existsSync(s))) {
    for (const s of sources) out.push(await sharp(s).resize(1155, 866, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer());
    return out;
  }
  for (let k = 0; k < 6; k++) {
    const w = 1155;
    const h = 866;
    const px = Buffer.alloc(w * h * 3);
    for (let i = 0; i < px.length; i++) px[i] = (128 + 90 * Math.sin(i / (300 + k * 37)) + ((i * 2654435761) >>> 27)) & 0xff;
    out.push(await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
  }
  return out;
}

// Images per wall-clock second, and per CPU-second of this process (all its threads): on a shared,
// busy machine the second is the steadier figure.
async function rate(fn: (i: number) => unknown): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < 3; i++) await fn(i); // warm up
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  while (performance.now() < end) await fn(n++);
  const c = process.cpuUsage(c0);
  return { wall: n / ((performance.now() - t0) / 1000), cpu: n / ((c.user + c.system) / 1e6) };
}

const jpegs = await oneMegapixelJpegs();
const decoded = await Promise.all(jpegs.map((j) => decodeImage(j)));
const mp = decoded[0]!.width * decoded[0]!.height;

const withDecode = await rate((i) => pdqHashImage(jpegs[i % jpegs.length]!));
const withoutDecode = await rate((i) => {
  const d = decoded[i % decoded.length]!;
  return pdqHashPixels(d.pixels, d.width, d.height, d.channels);
});
const dihedral = await rate((i) => {
  const d = decoded[i % decoded.length]!;
  return pdqHashPixels(d.pixels, d.width, d.height, d.channels, { dihedral: true });
});
const fullRes = await rate((i) => {
  const d = decoded[i % decoded.length]!;
  return pdqHashPixels(d.pixels, d.width, d.height, d.channels, { referenceDownsample: false });
});
const decodeOnly = await rate((i) => decodeImage(jpegs[i % jpegs.length]!));

console.log(`${jpegs.length} JPEGs of ${decoded[0]!.width}x${decoded[0]!.height} (${(mp / 1e6).toFixed(2)} MP), one thread, ${seconds} s per figure`);
const figures = [
  ['PDQ 1 MP JPEG, decode included', withDecode],
  ['PDQ 1 MP JPEG, decode excluded', withoutDecode],
  ['PDQ + 8 dihedral hashes, decode excluded', dihedral],
  ['PDQ without the reference 512 px step (full-res filter), decode excluded', fullRes],
  ['JPEG decode only (sharp)', decodeOnly],
] as const;
const results = figures.flatMap(([name, r]) => [
  { name, value: Math.round(r.wall * 10) / 10, unit: 'images/s' },
  { name: `${name}, per CPU-second`, value: Math.round(r.cpu * 10) / 10, unit: 'images/cpu-s' },
]);
for (const [name, r] of figures) console.log(`${name}: ${r.wall.toFixed(1)} images/s (${r.cpu.toFixed(1)} per CPU-second)`);
console.log(JSON.stringify({ results }));
