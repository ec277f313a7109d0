import type { Db, Filter } from 'mongodb';
import { CaseStatus } from '../domain/case';
import { distribution, summarizeAges, summarizeRemovals, type Bucket, type RemovalSample } from '../domain/stats';
import type { ProviderDirectory } from '../service';
import { CASES, type CaseDocument } from '../store/cases';
import { FACTS, FactKind, type FactDocument } from './projection';

export interface ProviderRow {
  providerId: string;
  name: string | null;
  country: string;
  category: string | null;
  reports: number;
  notices: number;
  removed: number;
  removedWithinDeadline: number;
  withinDeadlineShare: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
  outstanding: number;
  oldestOutstandingSeconds: number | null;
  medianOutstandingAgeSeconds: number | null;
  escalations: number;
  reuploads: number;
  falsePositives: number;
}

export type CountryRow = Omit<ProviderRow, 'providerId' | 'name' | 'category'> & { providers: number };
export type Totals = Omit<CountryRow, 'country'> & { timed: number };

const OPEN = [CaseStatus.OPEN, CaseStatus.DISPUTED, CaseStatus.AWAITING_OFFICER];
export const UNKNOWN_COUNTRY = '??';

/** Figures per provider and per country, from the facts and the open cases. */
export class MonitorQueries {
  constructor(private readonly db: Db, private readonly directory: ProviderDirectory) {}

  async #countBy(kind: string, extra: Filter<FactDocument> = {}): Promise<Map<string, number>> {
    const rows = await this.db.collection<FactDocument>(FACTS).aggregate<{ _id: string; n: number }>([
      { $match: { kind, ...extra } },
      { $group: { _id: '$providerId', n: { $sum: '$n' } } },
    ]).toArray();
    return new Map(rows.map((r) => [r._id, r.n]));
  }

  async #removalSamples(filter: { providerId?: string } = {}): Promise<Array<RemovalSample & { providerId: string }>> {
    const docs = await this.db.collection<FactDocument>(FACTS)
      .find({ kind: FactKind.CLOSED, outcome: 'removed', ...filter }, { projection: { providerId: 1, seconds: 1, within: 1 } })
      .toArray();
    return docs.map((d) => ({ providerId: d.providerId, seconds: d.seconds ?? null, withinDeadline: d.within ?? null }));
  }

  /** Totals over every provider; median and p90 from all raw durations, not from the rows. */
  async totals(rows: readonly ProviderRow[]): Promise<Totals> {
    const all = summarizeRemovals(await this.#removalSamples());
    const sum = (k: 'reports' | 'notices' | 'outstanding' | 'escalations' | 'reuploads' | 'falsePositives'): number => rows.reduce((n, r) => n + r[k], 0);
    const oldest = rows.reduce<number | null>((m, r) => (r.oldestOutstandingSeconds === null ? m : Math.max(m ?? 0, r.oldestOutstandingSeconds)), null);
    return {
      providers: rows.length, reports: sum('reports'), notices: sum('notices'), removed: all.removed, timed: all.timed, removedWithinDeadline: all.removedWithinDeadline,
      withinDeadlineShare: all.withinDeadlineShare, medianSeconds: all.medianSeconds, p90Seconds: all.p90Seconds, outstanding: sum('outstanding'),
      oldestOutstandingSeconds: oldest, medianOutstandingAgeSeconds: null, escalations: sum('escalations'), reuploads: sum('reuploads'), falsePositives: sum('falsePositives'),
    };
  }

  async providers(now: Date): Promise<ProviderRow[]> {
    const [reports, notices, escalations, falsePositives, samples] = await Promise.all([
      this.#countBy(FactKind.REPORT),
      this.#countBy(FactKind.NOTICE),
      this.#countBy(FactKind.ESCALATION),
      this.#countBy(FactKind.CLOSED, { outcome: 'false-positive' }),
      this.#removalSamples(),
    ]);
    const cases = this.db.collection<CaseDocument>(CASES);
    const open = await cases.find({ status: { $in: OPEN } } as Filter<CaseDocument>, { projection: { providerId: 1, clockStartedAt: 1 } }).toArray();
    const reuploadRows = await cases.aggregate<{ _id: string; n: number }>([{ $match: { reupload: true } }, { $group: { _id: '$providerId', n: { $sum: 1 } } }]).toArray();
    const reuploads = new Map(reuploadRows.map((r) => [r._id, r.n]));

    const ids = new Set<string>([...reports.keys(), ...notices.keys(), ...escalations.keys(), ...falsePositives.keys(), ...samples.map((s) => s.providerId), ...open.map((o) => o.providerId ?? ''), ...reuploads.keys()]);
    ids.delete('');
    const rows: ProviderRow[] = [];
    for (const id of ids) {
      const info = this.directory.get(id);
      const removal = summarizeRemovals(samples.filter((s) => s.providerId === id));
      const ages = summarizeAges(open.filter((o) => o.providerId === id && o.clockStartedAt).map((o) => o.clockStartedAt!), now);
      rows.push({
        providerId: id,
        name: info?.name ?? null,
        country: info?.country ?? UNKNOWN_COUNTRY,
        category: info?.category ?? null,
        reports: reports.get(id) ?? 0,
        notices: notices.get(id) ?? 0,
        removed: removal.removed,
        removedWithinDeadline: removal.removedWithinDeadline,
        withinDeadlineShare: removal.withinDeadlineShare,
        medianSeconds: removal.medianSeconds,
        p90Seconds: removal.p90Seconds,
        outstanding: ages.outstanding,
        oldestOutstandingSeconds: ages.oldestSeconds,
        medianOutstandingAgeSeconds: ages.medianAgeSeconds,
        escalations: escalations.get(id) ?? 0,
        reuploads: reuploads.get(id) ?? 0,
        falsePositives: falsePositives.get(id) ?? 0,
      });
    }
    return rows.sort((a, b) => a.providerId.localeCompare(b.providerId));
  }

  async countries(now: Date): Promise<Array<CountryRow & { country: string }>> {
    const rows = await this.providers(now);
    const samples = await this.#removalSamples();
    const countryOf = new Map(rows.map((r) => [r.providerId, r.country]));
    const out = new Map<string, CountryRow & { country: string }>();
    for (const r of rows) {
      const c = out.get(r.country) ?? {
        country: r.country, providers: 0, reports: 0, notices: 0, removed: 0, removedWithinDeadline: 0, withinDeadlineShare: null, medianSeconds: null, p90Seconds: null,
        outstanding: 0, oldestOutstandingSeconds: null, medianOutstandingAgeSeconds: null, escalations: 0, reuploads: 0, falsePositives: 0,
      };
      c.providers += 1;
      c.reports += r.reports;
      c.notices += r.notices;
      c.outstanding += r.outstanding;
      c.escalations += r.escalations;
      c.reuploads += r.reuploads;
      c.falsePositives += r.falsePositives;
      if (r.oldestOutstandingSeconds !== null) c.oldestOutstandingSeconds = Math.max(c.oldestOutstandingSeconds ?? 0, r.oldestOutstandingSeconds);
      out.set(r.country, c);
    }
    // Medians and percentiles do not add up across providers: recompute from the raw durations.
    for (const c of out.values()) {
      const s = summarizeRemovals(samples.filter((x) => (countryOf.get(x.providerId) ?? UNKNOWN_COUNTRY) === c.country));
      Object.assign(c, { removed: s.removed, removedWithinDeadline: s.removedWithinDeadline, withinDeadlineShare: s.withinDeadlineShare, medianSeconds: s.medianSeconds, p90Seconds: s.p90Seconds });
      c.medianOutstandingAgeSeconds = null;
    }
    return [...out.values()].sort((a, b) => a.country.localeCompare(b.country));
  }

  async distribution(filter: { providerId?: string; country?: string } = {}): Promise<{ total: number; buckets: Bucket[] }> {
    let samples = await this.#removalSamples(filter.providerId ? { providerId: filter.providerId } : {});
    if (filter.country) samples = samples.filter((s) => (this.directory.get(s.providerId)?.country ?? UNKNOWN_COUNTRY) === filter.country);
    const seconds = samples.map((s) => s.seconds).filter((x): x is number => x !== null);
    return { total: seconds.length, buckets: distribution(seconds) };
  }
}
