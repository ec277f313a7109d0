import { decodeImage, type DecodeOptions } from './decode';
import { bytesToHex } from './hash-codec';
import type { ImageFormat } from './image-format';
import {
  DIHEDRAL_NAMES,
  REFERENCE_DOWNSAMPLE_DIM,
  dihedralHashBytes,
  lumaFromPixels,
  nearestResizeSquare,
  pdqDctFromLuma,
  type DihedralName,
} from './pdq-core';

/** The all-zero hash the reference returns for images under 5 px on a side. */
export const PDQ_EMPTY_HASH = '0'.repeat(64);

export interface PdqHashOptions {
  /**
   * Shrink images larger than 512 px on either side to 512x512 (nearest neighbour) before the
   * filter, as the reference `pdq-photo-hasher` does. Default true; false hashes the full-size
   * luminance, as the algorithm paper describes (slower, and a few bits off the reference).
   */
  readonly referenceDownsample?: boolean;
  /** Also compute the seven rotated/flipped variants (one DCT, eight thresholdings). */
  readonly dihedral?: boolean;
}

export type DihedralHashes = Readonly<Record<DihedralName, string>>;

export interface PdqResult {
  /** 64 lowercase hex digits. */
  readonly hash: string;
  /** 0..100; below ~50 the hash says little (flat or tiny images). */
  readonly quality: number;
  /** Size of the decoded image, before any downsampling. */
  readonly width: number;
  readonly height: number;
  /** Present when requested with `dihedral: true`; `dihedral.original === hash`. */
  readonly dihedral?: DihedralHashes;
}

export interface PdqImageResult extends PdqResult {
  readonly format: ImageFormat;
}

function emptyDihedral(): DihedralHashes {
  return Object.fromEntries(DIHEDRAL_NAMES.map((n) => [n, PDQ_EMPTY_HASH])) as Record<DihedralName, string>;
}

/** PDQ of a row-major luminance matrix (values 0..255). `luma` is overwritten. */
export function pdqHashLuma(
  luma: Float32Array,
  rows: number,
  cols: number,
  options: Pick<PdqHashOptions, 'dihedral'> = {},
): { hash: string; quality: number; dihedral?: DihedralHashes } {
  const result = pdqDctFromLuma({ luma, rows, cols });
  if (result === null) {
    return options.dihedral
      ? { hash: PDQ_EMPTY_HASH, quality: 0, dihedral: emptyDihedral() }
      : { hash: PDQ_EMPTY_HASH, quality: 0 };
  }
  const hash = bytesToHex(dihedralHashBytes(result.dct, 'original'));
  if (!options.dihedral) return { hash, quality: result.quality };
  const dihedral = Object.fromEntries(
    DIHEDRAL_NAMES.map((n) => [n, n === 'original' ? hash : bytesToHex(dihedralHashBytes(result.dct, n))]),
  ) as Record<DihedralName, string>;
  return { hash, quality: result.quality, dihedral };
}

/**
 * PDQ of decoded 8-bit pixels (1 or 2 channels grey, 3 or 4 RGB; alpha ignored), the part of
 * {@link pdqHashImage} after decoding.
 */
export function pdqHashPixels(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  options: PdqHashOptions = {},
): PdqResult {
  const dim = REFERENCE_DOWNSAMPLE_DIM;
  if ((options.referenceDownsample ?? true) && (width > dim || height > dim)) {
    const luma = lumaFromPixels(nearestResizeSquare(pixels, width, height, channels, dim), dim, dim, channels);
    return { ...pdqHashLuma(luma, dim, dim, options), width, height };
  }
  return { ...pdqHashLuma(lumaFromPixels(pixels, width, height, channels), height, width, options), width, height };
}

/**
 * Decode an image (bytes or a file path) and compute its PDQ hash and quality. Throws
 * a PDQ-coded error (see `isPdqError`) for anything that is not a decodable image.
 */
export async function pdqHashImage(
  input: Uint8Array | string,
  options: PdqHashOptions & DecodeOptions = {},
): Promise<PdqImageResult> {
  const img = await decodeImage(input, options);
  return { ...pdqHashPixels(img.pixels, img.width, img.height, img.channels, options), format: img.format };
}
