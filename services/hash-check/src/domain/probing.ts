// Probing detection: a tenant who learns what is on the lists by checking variations of an image
// (a sweep of PDQ hashes around one point, walking towards or along the match threshold) shows a
// pattern that honest scanning of a hosting platform does not. Pure domain logic: the caller feeds
// observations with their time; nothing here does I/O, keeps a hash longer than the window, or
// grows without bound.
import { hamming256 } from '@hashcheck/hash-index';

export const ProbingReason = {
  /** Many PDQ queries close to (but not equal to) another recent query of the same tenant. */
  PDQ_SWEEP: 'pdq-sweep',
  /** Many PDQ matches at a distance just inside the list's threshold: walking the boundary. */
  PDQ_BOUNDARY: 'pdq-boundary',
} as const;
export type ProbingReasonValue = (typeof ProbingReason)[keyof typeof ProbingReason];

export interface ProbingConfig {
  /** Sliding window over which suspicious observations are counted. */
  windowMs: number;
  /** Two PDQ queries at a Hamming distance 1..nearDistance are near-duplicates (0 = a plain repeat, not counted). */
  nearDistance: number;
  /** Near-duplicate queries within the window that raise the signal. */
  sweepMinQueries: number;
  /** A match at distance > threshold - boundaryBand (and <= threshold) is a boundary match. */
  boundaryBand: number;
  /** Boundary matches within the window that raise the signal. */
  boundaryMinMatches: number;
  /** Recent PDQ queries kept per tenant to compare a new one with (bounds memory and CPU). */
  recentQueries: number;
  /** After a signal, the same tenant and reason stay quiet this long (one alert, not one per request). */
  cooldownMs: number;
  /** Tenants tracked at once; the least recently seen is forgotten beyond this. */
  maxTenants: number;
}

export const DEFAULT_PROBING_CONFIG: ProbingConfig = {
  windowMs: 10 * 60_000,
  // Independent random PDQ hashes are ~128 bits apart (σ = 8): 48 is ~10 σ below, so honest
  // traffic of unrelated images never pairs; re-encodes of one image are near, hence the counts.
  nearDistance: 48,
  sweepMinQueries: 50,
  boundaryBand: 4,
  boundaryMinMatches: 20,
  recentQueries: 32,
  cooldownMs: 10 * 60_000,
  maxTenants: 10_000,
};

export interface ProbingSignal {
  tenantId: string;
  reason: ProbingReasonValue;
  /** Suspicious observations in the window when the signal fired. */
  count: number;
  windowMs: number;
  /** Smallest distance seen among the counted observations (near-duplicate distance or boundary match distance). */
  minDistance: number;
  at: Date;
}

/** A timestamped counter over a sliding window (a ring of times, bounded by the threshold it serves). */
class WindowCount {
  private readonly times: Float64Array;
  private start = 0;
  private size = 0;
  minDistance = Number.POSITIVE_INFINITY;
  lastFired = Number.NEGATIVE_INFINITY;

  constructor(capacity: number) {
    this.times = new Float64Array(Math.max(1, capacity));
  }

  /** Adds an observation at `now`; returns how many are inside the window. Past capacity the oldest drops (the count stays at capacity). */
  add(now: number, windowMs: number, distance: number): number {
    this.evict(now, windowMs);
    if (this.size === 0) this.minDistance = Number.POSITIVE_INFINITY;
    const cap = this.times.length;
    if (this.size === cap) {
      this.start = (this.start + 1) % cap;
      this.size--;
    }
    this.times[(this.start + this.size) % cap] = now;
    this.size++;
    if (distance < this.minDistance) this.minDistance = distance;
    return this.size;
  }

  private evict(now: number, windowMs: number): void {
    const cap = this.times.length;
    while (this.size > 0 && (this.times[this.start] as number) <= now - windowMs) {
      this.start = (this.start + 1) % cap;
      this.size--;
    }
  }

  reset(): void {
    this.size = 0;
    this.minDistance = Number.POSITIVE_INFINITY;
  }
}

interface TenantState {
  /** Ring of the tenant's recent PDQ queries (8 words each) and when they were seen. */
  recent: Uint32Array;
  recentAt: Float64Array;
  recentNext: number;
  recentCount: number;
  sweep: WindowCount;
  boundary: WindowCount;
}

/**
 * Per-tenant probing detector. `observePdq` for each PDQ query (with the distances and thresholds
 * of its matches, if any); it returns the signals that fire now (usually none). Cost per query:
 * at most `recentQueries` 256-bit Hamming distances; memory per tenant: ~32 B × recentQueries
 * plus two small rings.
 */
export class ProbingDetector {
  private readonly tenants = new Map<string, TenantState>();
  readonly config: ProbingConfig;

  constructor(config: Partial<ProbingConfig> = {}) {
    this.config = { ...DEFAULT_PROBING_CONFIG, ...config };
    const c = this.config;
    if (!(c.windowMs > 0 && c.sweepMinQueries >= 1 && c.boundaryMinMatches >= 1 && c.recentQueries >= 1 && c.maxTenants >= 1)) {
      throw new RangeError('probing detector: windowMs, sweepMinQueries, boundaryMinMatches, recentQueries and maxTenants must be positive');
    }
  }

  /** Tenants currently tracked (for tests and status). */
  get trackedTenants(): number {
    return this.tenants.size;
  }

  private state(tenantId: string): TenantState {
    let s = this.tenants.get(tenantId);
    if (s) {
      // Map order = recency: move to the end.
      this.tenants.delete(tenantId);
      this.tenants.set(tenantId, s);
      return s;
    }
    const c = this.config;
    s = {
      recent: new Uint32Array(c.recentQueries * 8),
      recentAt: new Float64Array(c.recentQueries),
      recentNext: 0,
      recentCount: 0,
      sweep: new WindowCount(c.sweepMinQueries),
      boundary: new WindowCount(c.boundaryMinMatches),
    };
    this.tenants.set(tenantId, s);
    if (this.tenants.size > c.maxTenants) {
      const oldest = this.tenants.keys().next().value;
      if (oldest !== undefined) this.tenants.delete(oldest);
    }
    return s;
  }

  /**
   * One PDQ query of a tenant: the hash at words[off..off+8) and, for each match, its distance and
   * the list's threshold. Returns the signals raised by it (empty almost always).
   */
  observePdq(tenantId: string, words: Uint32Array, off: number, matches: readonly { distance: number; threshold: number }[], now: number): ProbingSignal[] {
    const c = this.config;
    const s = this.state(tenantId);
    const out: ProbingSignal[] = [];

    // Nearest recent query of the same tenant within the window (repeats of the same hash excluded).
    let nearest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < s.recentCount; i++) {
      if ((s.recentAt[i] as number) <= now - c.windowMs) continue;
      const d = hamming256(words, off, s.recent, i * 8);
      if (d > 0 && d < nearest) nearest = d;
    }
    s.recent.set(words.subarray(off, off + 8), s.recentNext * 8);
    s.recentAt[s.recentNext] = now;
    s.recentNext = (s.recentNext + 1) % c.recentQueries;
    if (s.recentCount < c.recentQueries) s.recentCount++;

    if (nearest <= c.nearDistance) {
      const n = s.sweep.add(now, c.windowMs, nearest);
      if (n >= c.sweepMinQueries) this.fire(out, tenantId, ProbingReason.PDQ_SWEEP, s.sweep, n, now);
    }
    let boundary = Number.POSITIVE_INFINITY;
    for (const m of matches) if (m.distance <= m.threshold && m.distance > m.threshold - c.boundaryBand && m.distance < boundary) boundary = m.distance;
    if (boundary !== Number.POSITIVE_INFINITY) {
      const n = s.boundary.add(now, c.windowMs, boundary);
      if (n >= c.boundaryMinMatches) this.fire(out, tenantId, ProbingReason.PDQ_BOUNDARY, s.boundary, n, now);
    }
    return out;
  }

  private fire(out: ProbingSignal[], tenantId: string, reason: ProbingReasonValue, w: WindowCount, count: number, now: number): void {
    if (now - w.lastFired < this.config.cooldownMs) return;
    w.lastFired = now;
    out.push({ tenantId, reason, count, windowMs: this.config.windowMs, minDistance: w.minDistance, at: new Date(now) });
    // Count afresh after a signal: the next one needs a full new set of observations.
    w.reset();
  }
}
