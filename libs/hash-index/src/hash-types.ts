/** Hash types the index understands, in the order used for their numeric codes in the binary codec. */
export const HASH_TYPES = ['md5', 'sha1', 'sha256', 'pdq'] as const;
export type HashType = (typeof HASH_TYPES)[number];

/** Exact (cryptographic) hash types: matched by equality. */
export const EXACT_HASH_TYPES = ['md5', 'sha1', 'sha256'] as const;
export type ExactHashType = (typeof EXACT_HASH_TYPES)[number];

/** Length of each hash type in bytes. */
export const HASH_BYTES = { md5: 16, sha1: 20, sha256: 32, pdq: 32 } as const satisfies Record<HashType, number>;

/** Length of each hash type in 32-bit words (every supported length is a multiple of 4 bytes). */
export const HASH_WORDS = { md5: 4, sha1: 5, sha256: 8, pdq: 8 } as const satisfies Record<HashType, number>;

/** Numeric code of a hash type in the binary codec. Never reorder: stored chunks depend on it. */
export const HASH_TYPE_CODE = { md5: 1, sha1: 2, sha256: 3, pdq: 4 } as const satisfies Record<HashType, number>;

/** Largest PDQ Hamming distance a list may use as its threshold. */
export const MAX_PDQ_THRESHOLD = 63;
/** PDQ threshold used when a list does not set one (the PDQ authors' recommended match distance). */
export const DEFAULT_PDQ_THRESHOLD = 31;

export function isHashType(value: unknown): value is HashType {
  return typeof value === 'string' && (HASH_TYPES as readonly string[]).includes(value);
}

export function hashTypeFromCode(code: number): HashType | undefined {
  return HASH_TYPES[code - 1];
}
