/**
 * Exponential backoff with full jitter (delay drawn uniformly from [0, min(cap, base * 2^n))): the
 * spread keeps many notices that failed together against one provider from retrying in lockstep.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** Attempts on one channel, the first included, before the channel is given up. */
  maxAttempts: number;
}

export const DEFAULT_WEBHOOK_BACKOFF: BackoffPolicy = { baseMs: 2_000, capMs: 15 * 60_000, maxAttempts: 8 };
export const DEFAULT_EMAIL_BACKOFF: BackoffPolicy = { baseMs: 30_000, capMs: 60 * 60_000, maxAttempts: 6 };

/** Delay before the next attempt after `failedAttempts` failures (1 = the first attempt failed). */
export function backoffDelayMs(failedAttempts: number, policy: Pick<BackoffPolicy, 'baseMs' | 'capMs'>, random: () => number = Math.random): number {
  const exponent = Math.max(0, failedAttempts - 1);
  // 2^exponent overflows to Infinity for large counts; min() with the cap keeps it finite.
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 1024));
  const r = random();
  const unit = r < 0 ? 0 : r >= 1 ? 0.999_999_999 : r;
  return Math.floor(unit * ceiling);
}

export function hasAttemptsLeft(attemptsMade: number, policy: Pick<BackoffPolicy, 'maxAttempts'>): boolean {
  return attemptsMade < policy.maxAttempts;
}
