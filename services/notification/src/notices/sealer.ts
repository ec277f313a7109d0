import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import type { Clock } from '../domain/clock';
import { planNotices, type GroupingPolicy } from '../domain/grouping';
import { Collections, NoticeState, type ItemDocument, type NoticeDocument, type NoticeItemRecord } from '../store/collections';
import { Leases } from '../store/leases';
import { Attr, Step, withOrigins } from '@hashcheck/telemetry';

/** How many waiting items one pass looks at per group; more wait for the next pass. */
const GROUP_SCAN_LIMIT = 5_000;

/**
 * Turns waiting items into notices once their group's window has passed.
 *
 * A group is sealed only under its lease (an insert-arbitrated lease, see store/leases), so at
 * most one sealer decides which items go into which notice. The notice document, with its items,
 * is inserted first; the items are then marked with its id. A stop between the two leaves items
 * unmarked, and the next holder of the group's lease marks them for the notice they are already
 * in before it plans anything, so no item can end up in a second notice.
 */
export class NoticeSealer {
  readonly #items: Collection<ItemDocument>;
  readonly #notices: Collection<NoticeDocument>;
  readonly #marks: Collection<{ _id: string; at: Date }>;
  readonly #leases: Leases;

  constructor(
    db: Db,
    private readonly policy: GroupingPolicy & { leaseMs: number },
    private readonly clock: Clock,
    owner: string,
  ) {
    this.#items = db.collection<ItemDocument>(Collections.ITEMS);
    this.#notices = db.collection<NoticeDocument>(Collections.NOTICES);
    this.#marks = db.collection<{ _id: string; at: Date }>(Collections.MARKS);
    this.#leases = new Leases(db, owner);
  }

  /** Seals every group whose oldest waiting item is due; returns the notices written. */
  async sealDue(): Promise<string[]> {
    const now = this.clock.now();
    const due = await this.#items
      .find({ noticeId: null, dueAt: { $lte: now } }, { projection: { groupKey: 1 } })
      .sort({ dueAt: 1 })
      .limit(500)
      .toArray();
    const written: string[] = [];
    for (const groupKey of new Set(due.map((d) => d.groupKey))) {
      const lease = await this.#leases.acquire(`seal:${groupKey}`, now, this.policy.leaseMs);
      if (!lease) continue;
      try {
        written.push(...(await this.#sealGroup(groupKey, now)));
      } finally {
        await this.#leases.release(lease);
      }
    }
    return written;
  }

  async #sealGroup(groupKey: string, now: Date): Promise<string[]> {
    await this.#finishLastPass(groupKey, now);
    const waiting = (await this.#items.find({ groupKey, noticeId: null }).sort({ receivedAt: 1 }).limit(GROUP_SCAN_LIMIT).toArray()).map((it) => ({ ...it, key: it._id }));
    const written: string[] = [];
    for (const plan of planNotices(groupKey, waiting, now, this.policy)) {
      // Continues the trace of the notice's first report and links the other reports' traces.
      const first = plan.items[0];
      const attributes = { [Attr.NOTICE_ID]: plan.noticeId, [Attr.ITEM_COUNT]: plan.items.length, ...(first?.providerId ? { [Attr.PROVIDER_ID]: first.providerId } : {}) };
      await withOrigins(Step.GROUP_NOTICE, plan.items.map((i) => i.trace), attributes, async (span) => {
        const inserted = await this.#insertNotice(plan.noticeId, plan.items, now);
        span.setAttribute(Attr.OUTCOME, inserted ? 'sealed' : 'already-sealed');
        if (inserted) written.push(plan.noticeId);
        await this.#mark(plan.noticeId, plan.items.map((i) => i._id), now);
      });
    }
    return written;
  }

  async #mark(noticeId: string, keys: string[], now: Date): Promise<void> {
    await this.#items.updateMany({ _id: { $in: keys } }, { $set: { noticeId, assignedAt: now } });
    // A separate insert, not a flag on the notice: the sender may be updating the notice right now,
    // and FerretDB would let one of two concurrent updates of a document overwrite the other.
    try {
      await this.#marks.insertOne({ _id: noticeId, at: now });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  /** Marks items of the group's most recent notices that a stopped sealer left unmarked. */
  async #finishLastPass(groupKey: string, now: Date): Promise<void> {
    const latest = await this.#notices.find({ groupKey }, { projection: { createdAt: 1 } }).sort({ createdAt: -1 }).limit(1).next();
    if (!latest) return;
    const lastPass = await this.#notices.find({ groupKey, createdAt: latest.createdAt }, { projection: { 'items.key': 1 } }).toArray();
    for (const notice of lastPass) {
      if (await this.#marks.findOne({ _id: notice._id })) continue;
      await this.#mark(notice._id, notice.items.map((i) => i.key), now);
    }
  }

  async #insertNotice(noticeId: string, items: readonly ItemDocument[], now: Date): Promise<boolean> {
    const first = items[0];
    if (!first) return false;
    const records: NoticeItemRecord[] = items.map((it) => ({
      key: it._id,
      ...(it.trace ? { trace: it.trace } : {}),
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
    try {
      await this.#notices.insertOne(doc);
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      return false;
    }
  }
}
