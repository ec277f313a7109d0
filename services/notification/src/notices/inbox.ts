import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import type { CasesClosedData, NoticesRequestedData, ReportsMatchedData } from '@hashcheck/events';
import type { Clock } from '../domain/clock';
import { groupKeyFor, initialItemKey, itemDueAt, ItemKind, renoticeItemKey, type GroupingPolicy } from '../domain/grouping';
import { uuidv5 } from '../domain/ids';
import { CANCELLED, Collections, NoticeState, type ClosedCaseDocument, type ItemDocument, type NoticeDocument, type StepDocument } from '../store/collections';
import { failedEntry } from './events';
import type { OutboxHint } from '@hashcheck/mongo';
import { currentCarrier } from '@hashcheck/telemetry';

export type InboxOutcome = 'stored' | 'duplicate';

/**
 * Turns incoming events into durable items. The item key is the only guard needed: inserting an
 * item twice fails on its _id, so a redelivered or replayed event changes nothing.
 */
export class NoticeInbox {
  readonly #items: Collection<ItemDocument>;
  readonly #notices: Collection<NoticeDocument>;
  readonly #steps: Collection<StepDocument>;
  readonly #closed: Collection<ClosedCaseDocument>;

  constructor(
    db: Db,
    private readonly grouping: GroupingPolicy,
    private readonly clock: Clock,
    /** Wakes the outbox relay for the step document just written (see OutboxHint). */
    private readonly notifyOutbox: (hint: OutboxHint) => void,
  ) {
    this.#items = db.collection<ItemDocument>(Collections.ITEMS);
    this.#notices = db.collection<NoticeDocument>(Collections.NOTICES);
    this.#steps = db.collection<StepDocument>(Collections.STEPS);
    this.#closed = db.collection<ClosedCaseDocument>(Collections.CLOSED_CASES);
  }

  async onMatched(eventId: string, d: ReportsMatchedData): Promise<InboxOutcome> {
    const now = this.clock.now();
    return this.#insert({
      _id: initialItemKey(d.caseId),
      groupKey: groupKeyFor(ItemKind.INITIAL, d.providerId),
      kind: ItemKind.INITIAL,
      providerId: d.providerId,
      reportId: d.reportId,
      caseKey: d.caseKey,
      caseId: d.caseId,
      url: d.url,
      receivedAt: now,
      dueAt: itemDueAt(ItemKind.INITIAL, now, this.grouping),
      noticeId: null,
      sourceEventId: eventId,
      trace: currentCarrier(),
    });
  }

  /**
   * A re-notice names cases and may carry their items. Cases without an item are taken from the
   * initial item this service stored; a case it has never seen cannot be re-sent (no URL on
   * record), which is reported with `notices.failed` so enforcement does not wait for it.
   */
  async onRequested(eventId: string, d: NoticesRequestedData): Promise<{ stored: number; duplicates: number; unknown: string[] }> {
    const now = this.clock.now();
    const base = {
      groupKey: groupKeyFor(ItemKind.RENOTICE, d.providerId, d.requestId),
      kind: ItemKind.RENOTICE,
      providerId: d.providerId,
      requestId: d.requestId,
      reason: d.reason,
      attempt: d.attempt,
      fixedDeadlineAt: new Date(d.deadlineAt),
      receivedAt: now,
      dueAt: itemDueAt(ItemKind.RENOTICE, now, this.grouping),
      noticeId: null,
      sourceEventId: eventId,
      trace: currentCarrier(),
    } as const;
    const given = d.items ?? [];
    const covered = new Set(given.flatMap((it) => (it.caseId ? [it.caseId] : [])));
    const docs: ItemDocument[] = given.map((it) => ({
      ...base,
      _id: renoticeItemKey(d.requestId, it.caseId ?? `key:${it.caseKey}`),
      reportId: it.reportId,
      caseKey: it.caseKey,
      ...(it.caseId ? { caseId: it.caseId } : {}),
      url: it.url,
    }));
    const unknown: string[] = [];
    for (const caseId of d.caseIds) {
      if (covered.has(caseId)) continue;
      const initial = await this.#items.findOne({ _id: initialItemKey(caseId) });
      if (!initial) {
        unknown.push(caseId);
        continue;
      }
      docs.push({ ...base, _id: renoticeItemKey(d.requestId, caseId), reportId: initial.reportId, caseKey: initial.caseKey, caseId, url: initial.url });
    }
    let stored = 0;
    let duplicates = 0;
    for (const doc of docs) {
      if ((await this.#insert(doc)) === 'stored') stored++;
      else duplicates++;
    }
    if (unknown.length > 0) await this.#reportUnknownCases(d, unknown, now);
    return { stored, duplicates, unknown };
  }

  /**
   * A closed case is not notified any more, whatever the outcome: a false positive or a withdrawn
   * report is no abuse, and removed content is gone (enforcement starts no clock for a notice on a
   * closed case). The closure is recorded first (one insert per case, so a redelivery or replay
   * changes nothing); the sender checks it before every attempt and drops the case from a notice
   * already sealed, also one a sealer writes at this very moment. An item still waiting in its
   * window is cancelled here and never sealed.
   */
  async onCaseClosed(d: CasesClosedData): Promise<number> {
    try {
      await this.#closed.insertOne({
        _id: d.caseId,
        outcome: d.outcome,
        providerId: d.providerId,
        ...(d.closedAt ? { closedAt: new Date(d.closedAt) } : {}),
        recordedAt: this.clock.now(),
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const res = await this.#items.updateMany({ caseId: d.caseId, noticeId: null }, { $set: { noticeId: CANCELLED, assignedAt: this.clock.now() } });
    return res.modifiedCount;
  }

  async #insert(doc: ItemDocument): Promise<InboxOutcome> {
    try {
      await this.#items.insertOne(doc);
      return 'stored';
    } catch (err) {
      if (isDuplicateKeyError(err)) return 'duplicate';
      throw err;
    }
  }

  /**
   * The event goes out through a step document (like every notice outcome), inserted before the
   * notice document: a redelivery after a stop in between finds the step and still writes the notice.
   */
  async #reportUnknownCases(d: NoticesRequestedData, caseIds: string[], now: Date): Promise<void> {
    const noticeId = uuidv5(`unknown-cases\n${d.requestId}`);
    const reason = `re-notice ${d.requestId} names cases notification has no URL for: ${caseIds.join(', ')}`.slice(0, 2000);
    const failure = { channel: 'email' as const, reason, at: now, final: true, undeliverable: true };
    const set = { state: NoticeState.UNDELIVERABLE, undeliverableReason: reason, nextAttemptAt: null };
    const entries = [failedEntry({ noticeId, providerId: d.providerId, channel: 'email', reason, final: true, undeliverable: true, failedAt: now.toISOString() }, now, 'unknown-cases')];
    const step: StepDocument = {
      _id: `${noticeId}#1`,
      noticeId,
      seq: 1,
      at: now,
      failures: [failure],
      set,
      outbox: entries,
    };
    const doc: NoticeDocument = {
      _id: noticeId,
      version: 1,
      groupKey: groupKeyFor(ItemKind.RENOTICE, d.providerId, d.requestId),
      kind: ItemKind.RENOTICE,
      providerId: d.providerId,
      requestId: d.requestId,
      reason: d.reason,
      requestAttempt: d.attempt,
      items: [],
      createdAt: now,
      updatedAt: now,
      channel: null,
      channelAttempts: 0,
      lookupAttempts: 0,
      givenUp: [],
      attempts: [],
      failures: [failure],
      ...set,
    };
    let stepStored = true;
    for (const [collection, document] of [[this.#steps, step], [this.#notices, doc]] as const) {
      try {
        await (collection as Collection<StepDocument | NoticeDocument>).insertOne(document);
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        if (document === step) stepStored = false;
      }
    }
    // A step found already there (a redelivery) may still hold its entries if the first delivery
    // stopped before they went out: the relay reads it by _id rather than trusting these copies.
    this.notifyOutbox(stepStored ? { collection: Collections.STEPS, id: step._id, entries } : { collection: Collections.STEPS, id: step._id });
  }
}
