/**
 * Removal statistics computed in the application from raw durations: the local database has no
 * percentile accumulators ($group supports only $sum/$count on FerretDB 1.24), and shipping the
 * durations of one provider is cheap.
 */

/** Quantile by linear interpolation between closest ranks (the R-7 / numpy default). */
export function quantile(sortedAsc: readonly number[], q: number): number | null {
  if (sortedAsc.length === 0) return null;
  if (q <= 0) return sortedAsc[0]!;
  if (q >= 1) return sortedAsc[sortedAsc.length - 1]!;
  const pos = (sortedAsc.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sortedAsc[lo]!;
  const b = sortedAsc[hi]!;
  return a + (b - a) * (pos - lo);
}

export interface RemovalSample {
  /** Seconds from the first notice to removal; null when no notice was sent before removal. */
  seconds: number | null;
  withinDeadline: boolean | null;
}

export interface RemovalSummary {
  removed: number;
  /** Removed cases whose clock had started (a notice went out): the base of the share. */
  timed: number;
  removedWithinDeadline: number;
  /** Share of timed removals that met the deadline, 0..1; null without any. */
  withinDeadlineShare: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

export function summarizeRemovals(samples: readonly RemovalSample[]): RemovalSummary {
  const durations = samples.map((s) => s.seconds).filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  const judged = samples.filter((s) => s.withinDeadline !== null);
  const within = judged.filter((s) => s.withinDeadline === true).length;
  return {
    removed: samples.length,
    timed: judged.length,
    removedWithinDeadline: within,
    withinDeadlineShare: judged.length > 0 ? within / judged.length : null,
    medianSeconds: quantile(durations, 0.5),
    p90Seconds: quantile(durations, 0.9),
  };
}

const H = 3600;
/** Bucket edges for the time-to-removal distribution, in seconds (the 24 h term sits on an edge). */
export const DISTRIBUTION_EDGES: readonly number[] = [H, 6 * H, 12 * H, 24 * H, 48 * H, 7 * 24 * H];

export interface Bucket {
  label: string;
  fromSeconds: number;
  toSeconds: number | null;
  count: number;
}

function label(seconds: number): string {
  return seconds % 86_400 === 0 && seconds >= 2 * 86_400 ? `${seconds / 86_400}d` : `${seconds / 3600}h`;
}

/** Counts per bucket [from, to); the last bucket is open-ended. */
export function distribution(seconds: readonly number[], edges: readonly number[] = DISTRIBUTION_EDGES): Bucket[] {
  const buckets: Bucket[] = [];
  let from = 0;
  for (const to of edges) {
    buckets.push({ label: from === 0 ? `< ${label(to)}` : `${label(from)}–${label(to)}`, fromSeconds: from, toSeconds: to, count: 0 });
    from = to;
  }
  buckets.push({ label: `≥ ${label(from)}`, fromSeconds: from, toSeconds: null, count: 0 });
  for (const s of seconds) {
    let i = edges.findIndex((e) => s < e);
    if (i < 0) i = edges.length;
    buckets[i]!.count += 1;
  }
  return buckets;
}

export interface AgeSummary {
  outstanding: number;
  oldestSeconds: number | null;
  medianAgeSeconds: number | null;
}

/** Outstanding (open) items and how long they have been up since their first notice. */
export function summarizeAges(startedAt: readonly Date[], now: Date): AgeSummary {
  const ages = startedAt.map((d) => Math.max(0, (now.getTime() - d.getTime()) / 1000)).sort((a, b) => a - b);
  return { outstanding: ages.length, oldestSeconds: ages.length > 0 ? ages[ages.length - 1]! : null, medianAgeSeconds: quantile(ages, 0.5) };
}
