import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import type { Clock } from '../domain/clock';
import { planNotices, type GroupingPolicy } from '../domain/grouping';
import { CANCELLED, Collections, NoticeState, type AssignmentDocument, type ItemDocument, type NoticeDocument, type NoticeItemRecord } from '../store/collections';

/** How many waiting items one pass looks at per group; more wait for the next pass. */
const GROUP_SCAN_LIMIT = 5_000;

/**
 * Turns waiting items into notices once their group's window has passed.
 *
 * Which notice an item belongs to is decided by inserting its assignment (item key as _id): an
 * insert either wins or fails on the duplicate key, on FerretDB as on MongoDB, so an item lands in
 * exactly one notice however many sealers run. The notice document is then written from the
 * assignments that name it, and the assignments are marked sealed. A crash in between leaves
 * unsealed assignments, which `repair` turns into the same notice later.
 */
export class NoticeSealer {
  readonly #items: Collection<ItemDocument>;
  readonly #assignments: Collection<AssignmentDocument>;
  readonly #notices: Collection<NoticeDocument>;

  constructor(
    db: Db,
    private readonly policy: GroupingPolicy & { repairGraceMs: number },
    private readonly clock: Clock,
  ) {
    this.#items = db.collection<ItemDocument>(Collections.ITEMS);
    this.#assignments = db.collection<AssignmentDocument>(Collections.ASSIGNMENTS);
    this.#notices = db.collection<NoticeDocument>(Collections.NOTICES);
  }

  /** Seals every group whose oldest waiting item is due; returns the notices written. */
  async sealDue(): Promise<string[]> {
    const now = this.clock.now();
    const due = await this.#items
      .find({ noticeId: null, dueAt: { $lte: now } }, { projection: { groupKey: 1 } })
      .sort({ dueAt: 1 })
      .limit(500)
      .toArray();
    const groups = [...new Set(due.map((d) => d.groupKey))];
    const written: string[] = [];
    for (const groupKey of groups) written.push(...(await this.#sealGroup(groupKey, now)));
    written.push(...(await this.repair(now)));
    return written;
  }

  async #sealGroup(groupKey: string, now: Date): Promise<string[]> {
    const found = await this.#items.find({ groupKey, noticeId: null }).sort({ receivedAt: 1 }).limit(GROUP_SCAN_LIMIT).toArray();
    // Items whose assignment exists already (an earlier pass stopped half-way) only need the copy.
    const existing = await this.#assignments.find({ _id: { $in: found.map((i) => i._id) } }).toArray();
    for (const a of existing) await this.#items.updateOne({ _id: a._id }, { $set: { noticeId: a.noticeId, assignedAt: a.at } });
    const taken = new Set(existing.map((a) => a._id));
    const waiting = found.filter((i) => !taken.has(i._id)).map((it) => ({ ...it, key: it._id }));
    const written: string[] = [];
    for (const plan of planNotices(groupKey, waiting, now, this.policy)) {
      const won = await this.#assign(plan.items.map((i) => i._id), plan.noticeId, now);
      if (won.length === 0) continue;
      await this.#items.updateMany({ _id: { $in: won } }, { $set: { noticeId: plan.noticeId, assignedAt: now } });
      if (await this.#writeNotice(plan.noticeId, now)) written.push(plan.noticeId);
    }
    return written;
  }

  /** Inserts the assignments; returns the item keys this call won. */
  async #assign(keys: string[], noticeId: string, at: Date): Promise<string[]> {
    if (keys.length === 0) return [];
    try {
      await this.#assignments.insertMany(keys.map((k) => ({ _id: k, noticeId, at, sealed: false })), { ordered: false });
      return keys;
    } catch (err) {
      const writeErrors = (err as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
      const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
      if (list.length === 0 || list.some((w) => w.code !== 11000)) throw err;
      const lost = new Set(list.map((w) => w.index));
      return keys.filter((_, i) => !lost.has(i));
    }
  }

  /** Assignments never sealed (the process stopped between the writes). */
  async repair(now: Date = this.clock.now()): Promise<string[]> {
    const stale = await this.#assignments
      .find({ sealed: false, at: { $lte: new Date(now.getTime() - this.policy.repairGraceMs) } })
      .limit(500)
      .toArray();
    const written: string[] = [];
    for (const noticeId of new Set(stale.map((s) => s.noticeId))) {
      await this.#items.updateMany({ _id: { $in: stale.filter((s) => s.noticeId === noticeId).map((s) => s._id) } }, { $set: { noticeId } });
      if (noticeId === CANCELLED) {
        await this.#assignments.updateMany({ noticeId, sealed: false }, { $set: { sealed: true } });
        continue;
      }
      if (await this.#writeNotice(noticeId, now)) written.push(noticeId);
    }
    return written;
  }

  async #writeNotice(noticeId: string, now: Date): Promise<boolean> {
    const keys = (await this.#assignments.find({ noticeId }, { projection: { _id: 1 } }).toArray()).map((a) => a._id);
    const items = await this.#items.find({ _id: { $in: keys } }).sort({ receivedAt: 1, _id: 1 }).toArray();
    const first = items[0];
    if (!first) return false;
    const records: NoticeItemRecord[] = items.map((it) => ({
      key: it._id,
      reportId: it.reportId,
      caseKey: it.caseKey,
      ...(it.caseId ? { caseId: it.caseId } : {}),
      url: it.url,
      ...(it.fixedDeadlineAt ? { fixedDeadlineAt: it.fixedDeadlineAt } : {}),
    }));
    const doc: NoticeDocument = {
      _id: noticeId,
      version: 0,
      groupKey: first.groupKey,
      kind: first.kind,
      providerId: first.providerId,
      ...(first.requestId ? { requestId: first.requestId } : {}),
      ...(first.reason ? { reason: first.reason } : {}),
      ...(first.attempt !== undefined ? { requestAttempt: first.attempt } : {}),
      items: records,
      state: NoticeState.PENDING,
      createdAt: now,
      updatedAt: now,
      nextAttemptAt: now,
      channel: null,
      channelAttempts: 0,
      lookupAttempts: 0,
      givenUp: [],
      attempts: [],
      failures: [],
    };
    let created = true;
    try {
      await this.#notices.insertOne(doc);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      created = false;
    }
    await this.#assignments.updateMany({ noticeId, sealed: false }, { $set: { sealed: true } });
    return created;
  }
}
