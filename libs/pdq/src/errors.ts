import { HashCheckError, isHashCheckError } from '@hashcheck/errors';

/** Stable codes of the errors this package throws; check `err.code`, not the message. */
export const PdqErrorCode = {
  /** The bytes are not in an image format this package decodes. */
  UNSUPPORTED_FORMAT: 'PDQ_UNSUPPORTED_FORMAT',
  /** The bytes look like a supported format but could not be decoded (corrupt, truncated header). */
  DECODE_FAILED: 'PDQ_DECODE_FAILED',
  /** The image has more pixels than the configured limit. */
  IMAGE_TOO_LARGE: 'PDQ_IMAGE_TOO_LARGE',
  /** Zero-byte input. */
  EMPTY_INPUT: 'PDQ_EMPTY_INPUT',
  /** The file could not be read. */
  READ_FAILED: 'PDQ_READ_FAILED',
} as const;
export type PdqErrorCode = (typeof PdqErrorCode)[keyof typeof PdqErrorCode];

const CODES = new Set<string>(Object.values(PdqErrorCode));

/** A {@link HashCheckError} with a PDQ code. Image errors are properties of the bytes: not retriable. */
export type PdqError = HashCheckError & { readonly code: PdqErrorCode };

export function pdqError(code: PdqErrorCode, message: string, cause?: unknown): PdqError {
  return new HashCheckError(code, message, { cause, retriable: false, statusCode: 422 }) as PdqError;
}

/** True for errors from this package, checked structurally so it works across package copies. */
export function isPdqError(err: unknown): err is PdqError {
  return isHashCheckError(err) && CODES.has(err.code);
}
