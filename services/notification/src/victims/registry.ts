import type { Collection, Db } from 'mongodb';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import type { CasesClosedData, ReportsMatchedData } from '@hashcheck/events';
import type { Clock } from '../domain/clock';
import type { DigestCounts, LanguageValue } from '../domain/templates';
import { nextDigestAt, SeriesChange, victimCaseKey, VictimCaseStatus, type DigestChoiceValue, type SeriesChangeValue } from '../domain/victim';
import { Collections, type VictimCaseDocument, type VictimDigestDocument, type VictimSeriesDocument } from '../store/collections';
import { Leases, type Lease } from '../store/leases';

/** The lease a digest pass holds on a series while it counts, sends and records (DigestSender). */
export const digestLease = (seriesId: string): string => `digest:${seriesId}`;

export interface RegistryOptions {
  workerId?: string;
  /** How long an opt-out holds the series' digest lease at most (it releases it when done). */
  leaseMs?: number;
  /** How long an opt-out waits for a digest pass of the series to end before answering 409. */
  optOutWaitMs?: number;
}

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
  readonly #leases: Leases;
  readonly #leaseMs: number;
  readonly #optOutWaitMs: number;

  constructor(db: Db, private readonly clock: Clock, opts: RegistryOptions = {}) {
    this.#series = db.collection<VictimSeriesDocument>(Collections.VICTIM_SERIES);
    this.#cases = db.collection<VictimCaseDocument>(Collections.VICTIM_CASES);
    this.#digests = db.collection<VictimDigestDocument>(Collections.VICTIM_DIGESTS);
    this.#leases = new Leases(db, opts.workerId ?? 'victim-registry');
    this.#leaseMs = opts.leaseMs ?? 120_000;
    this.#optOutWaitMs = opts.optOutWaitMs ?? 10_000;
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

  /**
   * Opting out removes the link and everything kept because of it, and wins over a digest pass:
   * the registration goes first (a pass re-reads it right before sending, and sends nothing once it
   * is gone), then the series' digest lease is taken, so a pass already sending finishes before the
   * cases and digest records are deleted, and none can be written after. When the method returns,
   * no digest for the series is being sent and none will be. A pass that holds the lease longer
   * than `optOutWaitMs` gets a 409; the registration is gone by then, and a repeated DELETE
   * finishes the rest.
   */
  async remove(seriesId: string): Promise<{ removed: boolean; cases: number; digests: number }> {
    const res = await this.#series.deleteOne({ _id: seriesId });
    const lease = await this.#awaitDigestLease(seriesId);
    if (!lease) {
      throw new HashCheckError(
        ErrorCode.CONFLICT,
        `a digest pass for series ${seriesId} is still running; the registration is removed and no further digest will be sent: repeat the DELETE to remove the tracked cases and digest records`,
      );
    }
    try {
      const cases = await this.#cases.deleteMany({ seriesId });
      const digests = await this.#digests.deleteMany({ seriesId });
      return { removed: res.deletedCount === 1, cases: cases.deletedCount, digests: digests.deletedCount };
    } finally {
      await this.#leases.release(lease);
    }
  }

  async #awaitDigestLease(seriesId: string): Promise<Lease | undefined> {
    const giveUpAt = Date.now() + this.#optOutWaitMs;
    for (;;) {
      const lease = await this.#leases.acquire(digestLease(seriesId), this.clock.now(), this.#leaseMs);
      if (lease || Date.now() >= giveUpAt) return lease;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
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
      const key = victimCaseKey(seriesId, d.caseId);
      let inserted = false;
      try {
        await this.#cases.insertOne({ _id: key, seriesId, caseId: d.caseId, status: VictimCaseStatus.FOUND, foundAt: this.clock.now() });
        inserted = true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      // An opt-out between the check above and the insert deleted the series' cases before this
      // one existed: take it back, nothing may be kept for a series that is not registered.
      if (!(await this.#series.findOne({ _id: seriesId }, { projection: { _id: 1 } }))) {
        await this.#cases.deleteOne({ _id: key, seriesId });
        continue;
      }
      if (inserted) tracked++;
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
