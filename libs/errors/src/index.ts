/**
 * Errors that cross package boundaries carry a stable `code`, a `retriable` flag and a `cause`.
 * Callers branch on `code` / `retriable`, never on `instanceof` (two copies of this package would
 * break it) or on message text.
 */

export const ErrorCode = {
  CONFIG_INVALID: 'HC_CONFIG_INVALID',
  VALIDATION: 'HC_VALIDATION',
  NOT_FOUND: 'HC_NOT_FOUND',
  CONFLICT: 'HC_CONFLICT',
  UNAUTHORIZED: 'HC_UNAUTHORIZED',
  FORBIDDEN: 'HC_FORBIDDEN',
  RATE_LIMITED: 'HC_RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'HC_PAYLOAD_TOO_LARGE',
  EVENT_DECODE: 'HC_EVENT_DECODE',
  EVENT_SCHEMA: 'HC_EVENT_SCHEMA',
  DEPENDENCY_UNAVAILABLE: 'HC_DEPENDENCY_UNAVAILABLE',
  STACK_START_FAILED: 'HC_STACK_START_FAILED',
  INTERNAL: 'HC_INTERNAL',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | (string & {});

const HTTP_STATUS: Record<string, number> = {
  [ErrorCode.VALIDATION]: 400,
  [ErrorCode.EVENT_DECODE]: 400,
  [ErrorCode.EVENT_SCHEMA]: 400,
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.DEPENDENCY_UNAVAILABLE]: 503,
};

export interface HashCheckErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  statusCode?: number;
  /** Machine-readable detail safe to show the caller (e.g. per-field reasons). Never secrets. */
  details?: unknown;
}

export class HashCheckError extends Error {
  readonly code: ErrorCodeValue;
  readonly retriable: boolean;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ErrorCodeValue, message: string, options: HashCheckErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HashCheckError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.statusCode = options.statusCode ?? HTTP_STATUS[code] ?? 500;
    this.details = options.details;
  }

  toJSON(): { code: string; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Structural check, so errors from another copy of this package are recognised too. */
export function isHashCheckError(err: unknown): err is HashCheckError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    typeof (err as { retriable?: unknown }).retriable === 'boolean' &&
    (err as { name?: unknown }).name === 'HashCheckError'
  );
}

export function hasCode(err: unknown, code: ErrorCodeValue): boolean {
  return isHashCheckError(err) && err.code === code;
}

// `RetryableError` and `SystemOverloadedError`: what the 7.x driver puts on a connection that could
// not be made (seen wrapped in a MongoBulkWriteError, `connect ECONNREFUSED`, while the database was
// restarting: docs/reliability.md, D4). Without them valid reports were dead-lettered as poison.
const MONGO_RETRIABLE_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool', 'PoolRequestedRetry', 'RetryableError', 'SystemOverloadedError'];
const MONGO_RETRIABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
]);
const NODE_RETRIABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH']);
/**
 * A client closed under a waiting operation (the reconnect watchdog in libs/mongo replaces a client
 * whose monitor stopped) and the driver's own operation timeout: the next attempt can succeed.
 */
const MONGO_RETRIABLE_CLOSED = new Set(['MongoPoolClosedError', 'MongoClientClosedError', 'MongoServerClosedError', 'MongoOperationTimeoutError']);
/**
 * The server's codes for a replica set changing or losing its primary, or a node shutting down: the
 * driver's RETRYABLE_READ_ERROR_CODES (mongodb 7.9, src/error.ts), which are also its retryable
 * write codes. With retryable writes off (FerretDB has no sessions: libs/mongo/src/client.ts) the
 * driver passes them on without a label, and a routine failover would have dead-lettered valid
 * messages as poison.
 */
const MONGO_RETRIABLE_SERVER_CODES = new Set([6, 7, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * The one place that decides whether an error is worth retrying. Consumers rethrow retriable
 * errors (so the broker redelivers after backoff) and dead-letter everything else.
 */
export function isRetriable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (isHashCheckError(err)) return err.retriable;
  const e = err as { retriable?: unknown; name?: unknown; code?: unknown; hasErrorLabel?: (l: string) => boolean; errorLabels?: unknown; cause?: unknown; errorResponse?: unknown };
  // kafkajs marks its own errors.
  if (typeof e.retriable === 'boolean') return e.retriable;
  if (typeof e.name === 'string' && (MONGO_RETRIABLE_NAMES.has(e.name) || MONGO_RETRIABLE_CLOSED.has(e.name))) return true;
  if (typeof e.name === 'string' && e.name.startsWith('Mongo') && typeof e.code === 'number' && MONGO_RETRIABLE_SERVER_CODES.has(e.code)) return true;
  if (typeof e.hasErrorLabel === 'function' && MONGO_RETRIABLE_LABELS.some((l) => e.hasErrorLabel?.(l))) return true;
  if (typeof e.code === 'string' && NODE_RETRIABLE_CODES.has(e.code)) return true;
  if (e.cause !== undefined && e.cause !== err) return isRetriable(e.cause);
  // The driver wraps a failure that is not the server's answer (no server selected, a connection
  // lost) in a MongoBulkWriteError and keeps the original in `errorResponse`, not `cause` (D4: a
  // database restart dead-lettered valid reports as poison). For a server's answer it holds the
  // reply document, which carries no retriable name or label.
  if (e.errorResponse !== undefined && e.errorResponse !== err) return isRetriable(e.errorResponse);
  return false;
}

export function errorCodeOf(err: unknown): string {
  if (isHashCheckError(err)) return err.code;
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return ErrorCode.INTERNAL;
}

/** MongoDB duplicate key: for idempotent consumers this means "already done", a success. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

export type Result<T, E = HashCheckError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E>(error: E): Result<never, E> => ({ ok: false, error });
