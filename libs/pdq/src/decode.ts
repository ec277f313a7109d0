import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { PdqErrorCode, isPdqError, pdqError } from './errors';
import { sniffImageFormat, type ImageFormat } from './image-format';

/** Default pixel limit: 100 megapixels (a 300 MB RGB buffer), well above any camera photo. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (checked from the header before decoding). */
  readonly maxPixels?: number;
  /**
   * Apply the EXIF Orientation tag before hashing. Default false: the reference hasher hashes the
   * stored pixel grid and ignores the tag, and list hashes come from the reference.
   */
  readonly autoOrient?: boolean;
  /**
   * How strict to be with damaged pixel data (sharp's `failOn`). Default 'none': like the
   * reference's ImageMagick decoder, a truncated JPEG still yields the rows that are present.
   */
  readonly failOn?: 'none' | 'truncated' | 'error' | 'warning';
  /** Stop decoding after this many seconds (0 = no limit). Default 60. */
  readonly timeoutSeconds?: number;
}

export interface DecodedImage {
  /** Interleaved 8-bit samples, `channels` per pixel, row-major. */
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** 1 (grey) or 3 (sRGB); alpha is dropped as the reference's decoder drops it. */
  readonly channels: 1 | 3;
  readonly format: ImageFormat;
}

const GREY_SPACES = new Set(['b-w', 'grey16']);

/**
 * ImageMagick's CMYK to RGB conversion, R = (1 - C)(1 - K), which is what the reference hasher saw.
 * libvips would instead go through an ICC profile, which moves the hash by up to ~10 bits.
 */
export function cmykToRgb(cmyk: Uint8Array, pixelCount: number, channels: number): Uint8Array {
  const rgb = new Uint8Array(pixelCount * 3);
  for (let p = 0, s = 0, o = 0; p < pixelCount; p++, s += channels, o += 3) {
    const k = 255 - cmyk[s + 3]!;
    rgb[o] = Math.round(((255 - cmyk[s]!) * k) / 255);
    rgb[o + 1] = Math.round(((255 - cmyk[s + 1]!) * k) / 255);
    rgb[o + 2] = Math.round(((255 - cmyk[s + 2]!) * k) / 255);
  }
  return rgb;
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // libvips appends its whole error log, one line per entry; the first line says it.
  return message.split('\n')[0] ?? message;
}

/**
 * Decode the first frame of a JPEG, PNG, GIF, WebP, TIFF or AVIF image to 8-bit pixels. CMYK and
 * palette images come out as sRGB, grey images as one channel. Throws only PDQ-coded errors (see {@link isPdqError}).
 */
export async function decodeImage(input: Uint8Array | string, options: DecodeOptions = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (err) {
      throw pdqError(PdqErrorCode.READ_FAILED, `cannot read ${input}: ${describe(err)}`, err);
    }
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw pdqError(PdqErrorCode.EMPTY_INPUT, 'empty input (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (format === null) {
    throw pdqError(PdqErrorCode.UNSUPPORTED_FORMAT, 'not a JPEG, PNG, GIF, WebP, TIFF or AVIF image');
  }
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const image = sharp(buffer, {
      failOn: options.failOn ?? 'none',
      limitInputPixels: maxPixels,
      autoOrient: options.autoOrient ?? false,
      // The reference's decoder (ImageMagick via CImg) does no colour management: embedded ICC
      // profiles are ignored and CMYK is converted with the naive formula (see cmykToRgb).
      ignoreIcc: true,
      pages: 1,
      page: 0,
    }).timeout({ seconds: options.timeoutSeconds ?? 60 });
    const meta = await image.metadata();
    if (meta.width * meta.height > maxPixels) {
      throw pdqError(
        PdqErrorCode.IMAGE_TOO_LARGE,
        `image is ${meta.width}x${meta.height}, over the limit of ${maxPixels} pixels`,
      );
    }
    if (meta.space === 'cmyk') {
      const { data, info } = await image
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (info.channels < 4) throw pdqError(PdqErrorCode.DECODE_FAILED, `CMYK image decoded to ${info.channels} channels`);
      const pixels = cmykToRgb(data, info.width * info.height, info.channels);
      return { pixels, width: info.width, height: info.height, channels: 3, format };
    }
    const grey = GREY_SPACES.has(meta.space) && meta.channels <= 2;
    const pipeline = image.removeAlpha();
    if (grey) pipeline.toColourspace('b-w');
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 && info.channels !== 3) {
      throw pdqError(PdqErrorCode.DECODE_FAILED, `decoder returned ${info.channels} channels`);
    }
    return { pixels: data, width: info.width, height: info.height, channels: info.channels, format };
  } catch (err) {
    if (isPdqError(err)) throw err;
    const message = describe(err);
    if (/pixel limit/i.test(message)) {
      throw pdqError(PdqErrorCode.IMAGE_TOO_LARGE, `image is over the limit of ${maxPixels} pixels`, err);
    }
    throw pdqError(PdqErrorCode.DECODE_FAILED, `cannot decode ${format} image: ${message}`, err);
  }
}
