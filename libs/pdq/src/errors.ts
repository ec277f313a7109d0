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

export class PdqError extends Error {
  override readonly name = 'PdqError';
  readonly code: PdqErrorCode;
  /** Image errors are properties of the bytes: trying again gives the same answer. */
  readonly retriable: boolean;

  constructor(code: PdqErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }
}

/** True for errors from this package, checked by code so it works across package copies. */
export function isPdqError(err: unknown): err is PdqError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    Object.values(PdqErrorCode).includes((err as { code: PdqErrorCode }).code)
  );
}
