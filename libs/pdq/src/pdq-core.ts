// PDQ on a luminance matrix, following Meta's reference C++ (pdq/cpp/hashing/pdqhashing.cpp and
// pdq/cpp/downscaling/downscaling.cpp) step by step. The reference computes in 32-bit floats, so
// every intermediate here is rounded with Math.fround / stored in a Float32Array: with identical
// input pixels the output is then bit-identical to the reference, which is Meta's own bar.

/** Images with fewer rows or columns than this get the all-zero hash and quality 0, as in the reference. */
export const MIN_HASHABLE_DIM = 5;

/** Luminance coefficients of the reference (`luma_from_{R,G,B}_coeff`, float). */
export const LUMA_COEFFS = { r: Math.fround(0.299), g: Math.fround(0.587), b: Math.fround(0.114) } as const;

/** The reference's `pdq-photo-hasher` first shrinks anything larger than this on either side to this square. */
export const REFERENCE_DOWNSAMPLE_DIM = 512;

const PDQ_NUM_JAROSZ_XY_PASSES = 2;

/** The eight dihedral variants, in the order the reference prints them (`--pdqdih-across`). */
export const DIHEDRAL_NAMES = [
  'original',
  'rotate90',
  'rotate180',
  'rotate270',
  'flipX',
  'flipY',
  'flipPlus1',
  'flipMinus1',
] as const;
export type DihedralName = (typeof DIHEDRAL_NAMES)[number];

export interface LumaImage {
  /** Row-major, `rows * cols` values in 0..255. Overwritten by the hasher (it is used as scratch). */
  readonly luma: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** The 16x16 DCT corner (row-major) and the quality metric; the hash bits are derived from it. */
export interface PdqDct {
  readonly dct: Float32Array;
  readonly quality: number;
}

const fr = Math.fround;

/** `computeJaroszFilterWindowSize`: ceil(old / (2 * new)) in integer arithmetic. */
export function jaroszWindowSize(oldDimension: number, newDimension: number): number {
  return Math.trunc((oldDimension + 2 * newDimension - 1) / (2 * newDimension));
}

// The reference's `box1DFloat` is a running-sum box filter whose window shrinks at both ends
// instead of padding: phase 1 accumulates without output, phase 2 writes with a growing window,
// phase 3 slides the full window, phase 4 writes with a shrinking one. Both passes below do exactly
// its float operations in its order for every row / column, only scheduled differently.

const ROW_GROUP = 8;

/**
 * `box1DFloat` along each row. A row is one long chain of dependent float additions, so eight rows
 * are advanced together to let the CPU overlap them; memory is still read sequentially.
 */
function boxAlongRows(input: Float32Array, output: Float32Array, rows: number, cols: number, fullWindowSize: number): void {
  const halfWindowSize = Math.trunc((fullWindowSize + 2) / 2);
  const phase1 = halfWindowSize - 1;
  const phase2 = fullWindowSize - halfWindowSize + 1;
  const phase3 = cols - fullWindowSize;
  const phase4 = halfWindowSize - 1;
  // Float32Array storage rounds every running sum to float, as the reference's `float sum`.
  const sums = new Float32Array(ROW_GROUP);
  const bases = new Int32Array(ROW_GROUP);
  for (let r0 = 0; r0 < rows; r0 += ROW_GROUP) {
    const g = Math.min(ROW_GROUP, rows - r0);
    sums.fill(0);
    for (let k = 0; k < g; k++) bases[k] = (r0 + k) * cols;
    let ri = 0;
    let li = 0;
    let oi = 0;
    let windowSize = 0;
    for (let i = 0; i < phase1; i++, ri++) {
      for (let k = 0; k < g; k++) sums[k] = sums[k]! + input[bases[k]! + ri]!;
      windowSize++;
    }
    for (let i = 0; i < phase2; i++, ri++, oi++) {
      windowSize++;
      for (let k = 0; k < g; k++) {
        const b = bases[k]!;
        sums[k] = sums[k]! + input[b + ri]!;
        output[b + oi] = sums[k]! / windowSize;
      }
    }
    for (let i = 0; i < phase3; i++, ri++, li++, oi++) {
      for (let k = 0; k < g; k++) {
        const b = bases[k]!;
        sums[k] = fr(sums[k]! + input[b + ri]!) - input[b + li]!;
        output[b + oi] = sums[k]! / windowSize;
      }
    }
    for (let i = 0; i < phase4; i++, li++, oi++) {
      windowSize--;
      for (let k = 0; k < g; k++) {
        const b = bases[k]!;
        sums[k] = sums[k]! - input[b + li]!;
        output[b + oi] = sums[k]! / windowSize;
      }
    }
  }
}

/**
 * Two X/Y passes of 1-D box filters (Jarosz, "Fast Image Convolutions", 2001), which together
 * approximate a tent filter. Result ends up in `buffer1`.
 */
export function jaroszFilter(
  buffer1: Float32Array,
  buffer2: Float32Array,
  rows: number,
  cols: number,
  windowAlongRows: number,
  windowAlongCols: number,
  passes = PDQ_NUM_JAROSZ_XY_PASSES,
): void {
  for (let p = 0; p < passes; p++) {
    boxAlongRows(buffer1, buffer2, rows, cols, windowAlongRows);
    boxAlongColumns(buffer2, buffer1, rows, cols, windowAlongCols);
  }
}

/**
 * `box1DFloat` down every column at once, walking the image row by row: the columns are independent
 * chains, and memory is read sequentially instead of striding down one column at a time.
 */
function boxAlongColumns(input: Float32Array, output: Float32Array, rows: number, cols: number, fullWindowSize: number): void {
  const halfWindowSize = Math.trunc((fullWindowSize + 2) / 2);
  const phase1 = halfWindowSize - 1;
  const phase2 = fullWindowSize - halfWindowSize + 1;
  const phase3 = rows - fullWindowSize;
  const phase4 = halfWindowSize - 1;
  const sums = new Float32Array(cols);
  let ri = 0;
  let li = 0;
  let oi = 0;
  let windowSize = 0;
  for (let i = 0; i < phase1; i++, ri += cols) {
    for (let j = 0; j < cols; j++) sums[j] = sums[j]! + input[ri + j]!;
    windowSize++;
  }
  for (let i = 0; i < phase2; i++, ri += cols, oi += cols) {
    windowSize++;
    for (let j = 0; j < cols; j++) {
      sums[j] = sums[j]! + input[ri + j]!;
      output[oi + j] = sums[j]! / windowSize;
    }
  }
  for (let i = 0; i < phase3; i++, ri += cols, li += cols, oi += cols) {
    for (let j = 0; j < cols; j++) {
      const s = fr(sums[j]! + input[ri + j]!) - input[li + j]!;
      sums[j] = s;
      output[oi + j] = sums[j]! / windowSize;
    }
  }
  for (let i = 0; i < phase4; i++, li += cols, oi += cols) {
    windowSize--;
    for (let j = 0; j < cols; j++) {
      sums[j] = sums[j]! - input[li + j]!;
      output[oi + j] = sums[j]! / windowSize;
    }
  }
}

function decimateTo64(input: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let oi = 0; oi < 64; oi++) {
    const ii = Math.trunc(((oi + 0.5) * rows) / 64);
    for (let oj = 0; oj < 64; oj++) {
      const ij = Math.trunc(((oj + 0.5) * cols) / 64);
      out[oi * 64 + oj] = input[ii * cols + ij]!;
    }
  }
}

/** `pdqImageDomainQualityMetric`: count of significant gradients in the 64x64 image, scaled to 0..100. */
export function qualityMetric(buffer64x64: Float32Array): number {
  let gradientSum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const d = Math.trunc(fr(fr(fr(buffer64x64[i * 64 + j]! - buffer64x64[(i + 1) * 64 + j]!) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const d = Math.trunc(fr(fr(fr(buffer64x64[i * 64 + j]! - buffer64x64[i * 64 + j + 1]!) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  return Math.min(100, Math.trunc(gradientSum / 90));
}

// Rows 1..16 of the 64-point DCT-II basis (row 0, the DC term, is left out), as the reference builds it.
const DCT_MATRIX = ((): Float32Array => {
  const m = new Float32Array(16 * 64);
  const scale = fr(Math.sqrt(2 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      m[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
    }
  }
  return m;
})();

/** `dct64To16`: B = D A D^T, keeping only the 16x16 low-frequency corner (without DC). */
export function dct64To16(a: Float32Array, t: Float32Array, out: Float32Array): void {
  const d = DCT_MATRIX;
  for (let i = 0; i < 16; i++) {
    const di = i * 64;
    for (let j = 0; j < 64; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = fr(sum + fr(d[di + k]! * a[k * 64 + j]!));
      t[i * 64 + j] = sum;
    }
  }
  for (let i = 0; i < 16; i++) {
    const ti = i * 64;
    for (let j = 0; j < 16; j++) {
      const dj = j * 64;
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = fr(sum + fr(t[ti + k]! * d[dj + k]!));
      out[i * 16 + j] = sum;
    }
  }
}

/**
 * Blur, decimate to 64x64, measure quality and take the DCT corner. Returns null for images under
 * {@link MIN_HASHABLE_DIM} on a side. `image.luma` is used as scratch and overwritten.
 */
export function pdqDctFromLuma(image: LumaImage): PdqDct | null {
  const { luma, rows, cols } = image;
  if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) return null;
  if (luma.length < rows * cols) throw new RangeError(`luma has ${luma.length} values, expected ${rows * cols}`);
  const buffer64 = new Float32Array(64 * 64);
  if (rows === 64 && cols === 64) {
    // The reference skips filtering when the input is already 64x64 (pdqFloat256FromFloatLuma).
    buffer64.set(luma.subarray(0, 64 * 64));
  } else {
    const scratch = new Float32Array(rows * cols);
    jaroszFilter(luma, scratch, rows, cols, jaroszWindowSize(cols, 64), jaroszWindowSize(rows, 64));
    decimateTo64(luma, rows, cols, buffer64);
  }
  const quality = qualityMetric(buffer64);
  const dct = new Float32Array(16 * 16);
  dct64To16(buffer64, new Float32Array(16 * 64), dct);
  return { dct, quality };
}

/**
 * Bits of the hash: 1 where the coefficient is strictly above the median. The reference's Torben
 * median of 256 values is the 128th smallest, i.e. index 127 of the sorted values.
 * Bit k (row k>>4, column k&15) lives in 16-bit word k>>4 at bit k&15, and the reference prints the
 * words from 15 down to 0, so the hex string is the 256-bit big-endian number with bit k worth 2^k.
 */
export function dctToHashBytes(dct: Float32Array): Uint8Array {
  const sorted = Float32Array.from(dct).sort();
  const median = sorted[127]!;
  const bytes = new Uint8Array(32);
  for (let k = 0; k < 256; k++) {
    if (dct[k]! > median) bytes[31 - (k >> 3)]! |= 1 << (k & 7);
  }
  return bytes;
}

// Sign and transposition rules of the reference's dct16OriginalTo* functions: reversing one axis of
// the 64x64 image multiplies DCT coefficient u (basis index u+1) by (-1)^(u+1); a transposition of
// the image transposes the DCT.
function dihedralDct(a: Float32Array, variant: DihedralName): Float32Array {
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = a[i * 16 + j]!;
      switch (variant) {
        case 'original':
          b[i * 16 + j] = v;
          break;
        case 'rotate90':
          b[j * 16 + i] = j & 1 ? v : -v;
          break;
        case 'rotate180':
          b[i * 16 + j] = (i + j) & 1 ? -v : v;
          break;
        case 'rotate270':
          b[j * 16 + i] = i & 1 ? v : -v;
          break;
        case 'flipX':
          b[i * 16 + j] = i & 1 ? v : -v;
          break;
        case 'flipY':
          b[i * 16 + j] = j & 1 ? v : -v;
          break;
        case 'flipPlus1':
          b[j * 16 + i] = v;
          break;
        case 'flipMinus1':
          b[j * 16 + i] = (i + j) & 1 ? -v : v;
          break;
      }
    }
  }
  return b;
}

/** Hash bytes of one dihedral variant, from the DCT of the original orientation. */
export function dihedralHashBytes(dct: Float32Array, variant: DihedralName): Uint8Array {
  return dctToHashBytes(variant === 'original' ? dct : dihedralDct(dct, variant));
}

/**
 * Nearest-neighbour resize of interleaved 8-bit pixels to `size` x `size`, as CImg's
 * `resize(512, 512)` (interpolation type 1) does in the reference hasher: source index
 * floor(x * oldSize / newSize), aspect ratio not kept.
 */
export function nearestResizeSquare(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  size: number,
): Uint8Array {
  const out = new Uint8Array(size * size * channels);
  const srcX = new Int32Array(size);
  for (let x = 0; x < size; x++) srcX[x] = Math.floor((x * width) / size) * channels;
  for (let y = 0; y < size; y++) {
    const rowBase = Math.floor((y * height) / size) * width * channels;
    const outBase = y * size * channels;
    for (let x = 0; x < size; x++) {
      const s = rowBase + srcX[x]!;
      const o = outBase + x * channels;
      for (let c = 0; c < channels; c++) out[o + c] = pixels[s + c]!;
    }
  }
  return out;
}

/**
 * Luminance from interleaved 8-bit pixels: 1 or 2 channels are grey (+alpha), 3 or 4 are RGB(+alpha).
 * Alpha is ignored, as in the reference (its decoder drops it).
 */
export function lumaFromPixels(pixels: Uint8Array, width: number, height: number, channels: number): Float32Array {
  const n = width * height;
  if (pixels.length < n * channels) throw new RangeError(`pixel buffer too short for ${width}x${height}x${channels}`);
  const luma = new Float32Array(n);
  if (channels === 1 || channels === 2) {
    for (let p = 0, s = 0; p < n; p++, s += channels) luma[p] = pixels[s]!;
  } else if (channels === 3 || channels === 4) {
    const { r, g, b } = LUMA_COEFFS;
    for (let p = 0, s = 0; p < n; p++, s += channels) {
      luma[p] = fr(fr(r * pixels[s]!) + fr(g * pixels[s + 1]!)) + fr(b * pixels[s + 2]!);
    }
  } else {
    throw new RangeError(`unsupported channel count ${channels}`);
  }
  return luma;
}
