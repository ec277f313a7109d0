export {
  HASH_TYPES,
  PDQ_BITS,
  bytesToHex,
  hammingDistanceBytes,
  hammingDistanceWords,
  hexToBytes,
  isHashHex,
  isHashType,
  isHex,
  isPdqHex,
  normalizeHex,
  pdqBytesToHex,
  pdqDistance,
  pdqHexToBytes,
  pdqHexToWords,
  pdqWordsToHex,
  popcount32,
} from './hash-codec';
export type { HashType } from './hash-codec';
export { PdqErrorCode, isPdqError, pdqError } from './errors';
export type { PdqError } from './errors';
export { IMAGE_FORMATS, SNIFF_BYTES, sniffImageFormat } from './image-format';
export type { ImageFormat } from './image-format';
export { DEFAULT_MAX_PIXELS, decodeImage } from './decode';
export type { DecodeOptions, DecodedImage } from './decode';
export {
  DIHEDRAL_NAMES,
  LUMA_COEFFS,
  MIN_HASHABLE_DIM,
  REFERENCE_DOWNSAMPLE_DIM,
  jaroszWindowSize,
  lumaFromPixels,
} from './pdq-core';
export type { DihedralName } from './pdq-core';
export { PDQ_EMPTY_HASH, pdqHashImage, pdqHashLuma, pdqHashPixels } from './pdq-hash';
export type { DihedralHashes, PdqHashOptions, PdqImageResult, PdqResult } from './pdq-hash';
