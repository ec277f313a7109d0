// Text and binary forms of the hashes HashCheck handles. Hex is always lowercase on output; input
// is accepted in either case and normalised, because partners and police exports differ.

/** Digest types HashCheck matches on, with their length in bytes. */
export const HASH_TYPES = { md5: 16, sha1: 20, sha256: 32, pdq: 32 } as const;
export type HashType = keyof typeof HASH_TYPES;

/** Number of bits in a PDQ hash. */
export const PDQ_BITS = 256;

const HEX_RE = /^[0-9a-fA-F]*$/;

export function isHashType(value: unknown): value is HashType {
  return typeof value === 'string' && Object.hasOwn(HASH_TYPES, value);
}

/** True for a hex string (either case) of exactly `bytes` bytes. */
export function isHex(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && value.length === bytes * 2 && HEX_RE.test(value);
}

/** True for 64 hex digits, the PDQ text form (either case; see {@link normalizeHex}). */
export function isPdqHex(value: unknown): value is string {
  return isHex(value, HASH_TYPES.pdq);
}

/** True when `value` is a well-formed hex digest of the given type. */
export function isHashHex(type: HashType, value: unknown): value is string {
  return isHex(value, HASH_TYPES[type]);
}

/** Lowercase form of a hex digest; throws when it is not hex of the type's length. */
export function normalizeHex(type: HashType, value: string): string {
  if (!isHashHex(type, value)) {
    throw new TypeError(`not a ${type} hex digest (${HASH_TYPES[type] * 2} hex digits expected)`);
  }
  return value.toLowerCase();
}

/** Bytes of a hex string, first byte from the first two digits. Throws on odd length or non-hex. */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !HEX_RE.test(hex)) throw new TypeError('not an even-length hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX_DIGITS[b];
  return s;
}

/**
 * The 32 bytes of a PDQ hex string, in the order the hex is written (big-endian): byte 31 holds
 * hash bits 0..7, i.e. row 0, columns 0..7 of the 16x16 DCT sign matrix.
 */
export function pdqHexToBytes(hex: string): Uint8Array {
  if (!isPdqHex(hex)) throw new TypeError('not a PDQ hash (64 hex digits expected)');
  return hexToBytes(hex);
}

/** Inverse of {@link pdqHexToBytes}. */
export function pdqBytesToHex(bytes: Uint8Array): string {
  if (bytes.length !== HASH_TYPES.pdq) throw new RangeError('a PDQ hash has 32 bytes');
  return bytesToHex(bytes);
}

/**
 * The PDQ hash as eight 32-bit words (word 0 from hex digits 0..7), the packed form for large
 * in-memory indexes. Writes into `out` at `offset` when given.
 */
export function pdqHexToWords(hex: string, out = new Uint32Array(8), offset = 0): Uint32Array {
  if (!isPdqHex(hex)) throw new TypeError('not a PDQ hash (64 hex digits expected)');
  for (let w = 0; w < 8; w++) out[offset + w] = parseInt(hex.slice(w * 8, w * 8 + 8), 16) >>> 0;
  return out;
}

/** Inverse of {@link pdqHexToWords}. */
export function pdqWordsToHex(words: Uint32Array, offset = 0): string {
  let s = '';
  for (let w = 0; w < 8; w++) s += (words[offset + w]! >>> 0).toString(16).padStart(8, '0');
  return s;
}

/** Set bits in a 32-bit integer. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance of two equally long byte arrays (for PDQ: 0..256). */
export function hammingDistanceBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError('hashes differ in length');
  let d = 0;
  for (let i = 0; i < a.length; i++) d += popcount32(a[i]! ^ b[i]!);
  return d;
}

/** Hamming distance of two packed PDQ hashes (8 words each, at the given offsets). */
export function hammingDistanceWords(a: Uint32Array, aOffset: number, b: Uint32Array, bOffset: number): number {
  let d = 0;
  for (let w = 0; w < 8; w++) d += popcount32(a[aOffset + w]! ^ b[bOffset + w]!);
  return d;
}

/** Hamming distance of two PDQ hashes in hex (either case). Throws on malformed input. */
export function pdqDistance(a: string, b: string): number {
  return hammingDistanceBytes(pdqHexToBytes(a), pdqHexToBytes(b));
}
