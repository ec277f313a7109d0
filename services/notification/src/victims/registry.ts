import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import type { CasesClosedData, ReportsMatchedData } from '@hashcheck/events';
import type { Clock } from '../domain/clock';
import type { DigestCounts, LanguageValue } from '../domain/templates';
import { nextDigestAt, SeriesChange, victimCaseKey, VictimCaseStatus, type DigestChoiceValue, type SeriesChangeValue } from '../domain/victim';
import { Collections, type VictimCaseDocument, type VictimDigestDocument, type VictimSeriesDocument } from '../store/collections';

export interface SeriesInput {
  intermediary: { email: string; name?: string };
  reference?: string;
  choice: DigestChoiceValue;
  delayMs: number;
  language: LanguageValue;
}

/**
 * The opt-in registry (series id -> intermediary and the person's choice) and the per-series case
 * tracking. Both live in this service's own database, in collections no other service reads: the
 * matching path (hash-check) only passes a series id along, and nothing is stored for a series
 * that has not opted in.
 */
export class VictimRegistry {
  readonly #series: Collection<VictimSeriesDocument>;
  readonly #cases: Collection<VictimCaseDocument>;
  readonly #digests: Collection<VictimDigestDocument>;

  constructor(db: Db, private readonly clock: Clock) {
    this.#series = db.collection<VictimSeriesDocument>(Collections.VICTIM_SERIES);
    this.#cases = db.collection<VictimCaseDocument>(Collections.VICTIM_CASES);
    this.#digests = db.collection<VictimDigestDocument>(Collections.VICTIM_DIGESTS);
  }

  async upsert(seriesId: string, input: SeriesInput): Promise<{ created: boolean; series: VictimSeriesDocument }> {
    const now = this.clock.now();
    const fields = {
      intermediary: input.intermediary,
      choice: input.choice,
      delayMs: input.delayMs,
      language: input.language,
      updatedAt: now,
    };
    const existing = await this.#series.findOne({ _id: seriesId });
    if (existing) {
      const changedChoice = existing.choice !== input.choice || existing.delayMs !== input.delayMs;
      // The new choice's schedule goes in with the choice, in one write: written after it, a
      // request that failed in between left the series unscheduled, and its retry (finding the
      // choice already stored) did not schedule it either.
      const next = changedChoice
        ? nextDigestAt({ ...existing, ...fields, nextDigestAt: null }, SeriesChange.FOUND, now, await this.#countsSinceLastDigest(seriesId, now))
        : undefined;
      await this.#series.updateOne(
        { _id: seriesId },
        {
          $set: { ...fields, ...(input.reference !== undefined ? { reference: input.reference } : {}), ...(changedChoice ? { nextDigestAt: next } : {}) },
          ...(input.reference === undefined ? { $unset: { reference: '' } } : {}),
        },
      );
      return { created: false, series: (await this.#series.findOne({ _id: seriesId }))! };
    }
    const doc: VictimSeriesDocument = {
      _id: seriesId,
      ...fields,
      ...(input.reference !== undefined ? { reference: input.reference } : {}),
      createdAt: now,
      nextDigestAt: null,
    };
    try {
      await this.#series.insertOne(doc);
      return { created: true, series: doc };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      return this.upsert(seriesId, input);
    }
  }

  async get(seriesId: string): Promise<VictimSeriesDocument | null> {
    return this.#series.findOne({ _id: seriesId });
  }

  async list(limit: number): Promise<VictimSeriesDocument[]> {
    return this.#series.find({}).sort({ _id: 1 }).limit(limit).toArray();
  }

  /** Opting out removes the link and everything kept because of it. */
  async remove(seriesId: string): Promise<{ removed: boolean; cases: number; digests: number }> {
    const res = await this.#series.deleteOne({ _id: seriesId });
    const cases = await this.#cases.deleteMany({ seriesId });
    const digests = await this.#digests.deleteMany({ seriesId });
    return { removed: res.deletedCount === 1, cases: cases.deletedCount, digests: digests.deletedCount };
  }

  /** The most recent digest delivered for the series. */
  async lastDigest(seriesId: string): Promise<VictimDigestDocument | null> {
    return this.#digests.find({ seriesId, state: 'sent' }).sort({ until: -1 }).limit(1).next();
  }

  async digestsSent(seriesId: string): Promise<number> {
    return this.#digests.countDocuments({ seriesId, state: 'sent' });
  }

  async counts(seriesId: string, since: Date | null, until: Date): Promise<DigestCounts> {
    const window = (field: 'foundAt' | 'removedAt') => ({ [field]: { ...(since ? { $gt: since } : {}), $lte: until } });
    const live = { seriesId, status: { $ne: VictimCaseStatus.DISMISSED } };
    const [found, removed, newlyFound, newlyRemoved] = await Promise.all([
      this.#cases.countDocuments(live),
      this.#cases.countDocuments({ seriesId, status: VictimCaseStatus.REMOVED }),
      this.#cases.countDocuments({ ...live, ...window('foundAt') }),
      this.#cases.countDocuments({ seriesId, status: VictimCaseStatus.REMOVED, ...window('removedAt') }),
    ]);
    return { found, removed, online: found - removed, newlyFound, newlyRemoved };
  }

  /** Changes that happened after `until` (while a digest was being sent). */
  async changedSince(seriesId: string, until: Date): Promise<SeriesChangeValue | undefined> {
    if ((await this.#cases.countDocuments({ seriesId, foundAt: { $gt: until } })) > 0) return SeriesChange.FOUND;
    if ((await this.#cases.countDocuments({ seriesId, removedAt: { $gt: until } })) > 0) return SeriesChange.REMOVED;
    return undefined;
  }

  /**
   * Recomputes when the next digest is due after a change. `parked`: the digest worker's
   * re-check time (see DigestWorker#finish), which counts as no schedule at all; with no change
   * the parked schedule is cleared.
   */
  async reschedule(seriesId: string, change: SeriesChangeValue | undefined, parked?: Date): Promise<void> {
    const series = await this.#series.findOne({ _id: seriesId });
    if (!series) return;
    const isParked = parked !== undefined && series.nextDigestAt?.getTime() === parked.getTime();
    const schedule = isParked ? { ...series, nextDigestAt: null } : series;
    const now = this.clock.now();
    const next = change === undefined
      ? schedule.nextDigestAt
      : nextDigestAt(schedule, change, now, await this.#countsSinceLastDigest(seriesId, now));
    if ((next?.getTime() ?? null) === (series.nextDigestAt?.getTime() ?? null)) return;
    // Conditional on the value read: a concurrent digest pass wins, and reschedules itself.
    await this.#series.updateOne({ _id: seriesId, nextDigestAt: series.nextDigestAt }, { $set: { nextDigestAt: next } });
  }

  /** What a series' next digest would count, as of `now`. */
  async #countsSinceLastDigest(seriesId: string, now: Date): Promise<DigestCounts> {
    return this.counts(seriesId, (await this.lastDigest(seriesId))?.until ?? null, now);
  }

  /** A matched report names series ids; only opted-in series are tracked, the rest is not stored. */
  async onMatched(d: ReportsMatchedData): Promise<number> {
    const seriesIds = [...new Set(d.matches.flatMap((m) => (m.seriesId ? [m.seriesId] : [])))];
    let tracked = 0;
    for (const seriesId of seriesIds) {
      const series = await this.#series.findOne({ _id: seriesId }, { projection: { _id: 1 } });
      if (!series) continue;
      try {
        await this.#cases.insertOne({ _id: victimCaseKey(seriesId, d.caseId), seriesId, caseId: d.caseId, status: VictimCaseStatus.FOUND, foundAt: this.clock.now() });
        tracked++;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      // Rescheduling is idempotent, so a redelivery that finds the case stored still completes it.
      await this.reschedule(seriesId, SeriesChange.FOUND);
    }
    return tracked;
  }

  async onNoticeSent(caseIds: readonly string[], at: Date): Promise<void> {
    if (caseIds.length === 0) return;
    await this.#cases.updateMany({ caseId: { $in: [...caseIds] }, status: VictimCaseStatus.FOUND }, { $set: { status: VictimCaseStatus.NOTIFIED, notifiedAt: at } });
  }

  async onCaseClosed(d: CasesClosedData): Promise<void> {
    const tracked = await this.#cases.find({ caseId: d.caseId }).toArray();
    if (tracked.length === 0) return;
    const now = this.clock.now();
    const removed = d.outcome === 'removed';
    for (const c of tracked) {
      if (c.status === VictimCaseStatus.REMOVED || c.status === VictimCaseStatus.DISMISSED) continue;
      await this.#cases.updateOne(
        { _id: c._id, status: c.status },
        { $set: removed ? { status: VictimCaseStatus.REMOVED, removedAt: now, closedAt: now } : { status: VictimCaseStatus.DISMISSED, closedAt: now } },
      );
    }
    for (const seriesId of new Set(tracked.map((c) => c.seriesId))) await this.reschedule(seriesId, SeriesChange.REMOVED);
  }
}
