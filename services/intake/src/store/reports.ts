import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import {
  createEvent,
  ReportsAccepted,
  ReportsRejected,
  Topics,
  type CasesClosedData,
  type EnforcementEscalatedData,
  type MatchValue,
  type NoticesSentData,
  type ReportsAcceptedData,
  type ReportsRejectedData,
} from '@hashcheck/events';
import type { Resolution } from '@hashcheck/providers';
import { caseIdOf, parseCaseId } from '../domain/case-key';
import { withoutSeries, type KeptMatch } from '../domain/status';
import { deterministicUuid } from '../domain/ids';
import type { NormalisedReport } from '../domain/submission';
import type { ConsumerOutbox } from '@hashcheck/mongo';
import { InsertBatcher, OUTBOX_INDEX, outboxEntry, PendingMarks, type CollectionIndexes, type OutboxEntry, type OutboxHint, type WithConsumerOutbox, type WithEvents, type WithOutbox } from '@hashcheck/mongo';
import { recordRejected } from '@hashcheck/telemetry';

export const Collections = { REPORTS: 'reports', CASES: 'cases', CHECKS: 'checks', REJECTIONS: 'rejections', PROVIDERS: 'providers', DEAD_LETTERS: 'dead_letters' } as const;

export type ChannelValue = 'kafka' | 'http';

/**
 * `events`: reports.accepted. A report from HTTP marks it pending until the relay has published it
 * (PendingMarks); a report from Kafka (`consumerOutbox`) is published by its consumer handler
 * (ConsumerOutbox). `outbox`: reports stored before either.
 */
export interface ReportDocument extends WithOutbox, WithEvents, WithConsumerOutbox {
  _id: string;
  source: string;
  channel: ChannelValue;
  url: string;
  host: string;
  ip?: string;
  hashes: NormalisedReport['hashes'];
  observedAt?: string;
  reporter?: string;
  contentType?: NormalisedReport['contentType'];
  categoryHint?: string;
  caseKey: string;
  caseId: string;
  fingerprint: string;
  providerId: string | null;
  providerResolved: boolean;
  providerResolvedBy?: Resolution['by'];
  receivedAt: Date;
  /** The partner's event id (Kafka) or the HTTP request id, for tracing a report back to its input. */
  inputRef: string;
  /** Reports stored before the `checks` collection carry their check here. */
  check?: CheckResult;
  notices: Array<{ noticeId: string; channel: string; sentAt: string; deadlineAt: string; contact: string }>;
  escalations: Array<{ step: string; stepIndex: number; at: string }>;
  closed?: { outcome: CasesClosedData['outcome']; closedAt: string; withinDeadline?: boolean; timeToRemovalSeconds?: number };
  /**
   * Moves out of a case that had closed before this report was received (its `cases.closed` reached
   * intake only after the report had joined it: recordCaseClosed). Each move's `reports.accepted`
   * (`eventId`) is in `events`, marked pending for the relay (PendingMarks) whatever the report's
   * channel.
   */
  moves?: CaseMove[];
}

export interface CaseMove {
  fromCaseId: string;
  toCaseId: string;
  /** The closed case's closedAt, after this report's receivedAt. */
  closedAt: string;
  /** The re-announcement: `reports.accepted` with the new caseId. */
  eventId: string;
  at: Date;
}

export interface CheckResult {
  matched: boolean;
  /** Without victim series (withoutSeries); checks stored before that may still hold them. */
  matches: Array<MatchValue | KeptMatch>;
  checkedAt: string;
}

/** hash-check's latest verdict on a report, kept beside the report instead of in it (see recordCheck). */
interface CheckDocument extends CheckResult {
  _id: string;
}

interface CaseDocument {
  _id: string;
  generation: number;
  caseId: string;
  open: boolean;
  openedAt: Date;
  closedAt?: Date;
}

export interface RejectionDocument extends WithOutbox {
  _id: string;
  reportId?: string;
  source?: string;
  code: ReportsRejectedData['code'];
  reasons: string[];
  original: ReportsRejectedData['original'];
  rejectedAt: Date;
}

export const REPORT_INDEXES: CollectionIndexes[] = [
  { collection: Collections.REPORTS, indexes: [OUTBOX_INDEX, { key: { caseId: 1 }, name: 'by_case' }, { key: { caseKey: 1 }, name: 'by_case_key' }] },
  { collection: Collections.CASES, indexes: [{ key: { caseId: 1 }, name: 'by_case_id' }] },
  { collection: Collections.REJECTIONS, indexes: [OUTBOX_INDEX, { key: { reportId: 1 }, name: 'by_report' }] },
];

export type AcceptOutcome =
  /** `consumerPublishes`: the caller (a consumer handler) publishes `outbox` itself; otherwise it is marked for the relay. */
  | { kind: 'accepted'; report: ReportDocument; outbox: OutboxEntry[]; consumerPublishes: boolean }
  /** `consumerEvents`: the stored events of a report its consumer handler publishes, for a redelivery to publish what a crash left. */
  | { kind: 'duplicate'; report: ReportDocument; consumerEvents?: OutboxEntry[] }
  | { kind: 'conflict'; reasons: string[]; report: ReportDocument };

export interface AcceptContext {
  channel: ChannelValue;
  inputRef: string;
  resolution: Resolution | undefined;
  now?: Date;
}

export const SERVICE_SOURCE = 'intake';

/**
 * Reports, the cases they join, and rejections. Every state change that must be announced carries
 * its event in the same document (embedded outbox); event ids are derived from what happened, so a
 * replayed input produces the same ids, or nothing.
 */
export class ReportStore {
  readonly reports: Collection<ReportDocument>;
  readonly cases: Collection<CaseDocument>;
  readonly rejections: Collection<RejectionDocument>;
  readonly checks: Collection<CheckDocument>;
  readonly #reportInserts: InsertBatcher<ReportDocument>;
  readonly #caseInserts: InsertBatcher<CaseDocument>;
  readonly #checkInserts: InsertBatcher<CheckDocument>;
  readonly #marks: PendingMarks;

  /** `consumerOutbox` tells whether a Kafka report's event is published yet (status reads). */
  constructor(db: Db, private readonly consumerOutbox?: Pick<ConsumerOutbox, 'countUnrecorded'>) {
    this.#marks = new PendingMarks(db);
    this.reports = db.collection<ReportDocument>(Collections.REPORTS);
    this.cases = db.collection<CaseDocument>(Collections.CASES);
    this.rejections = db.collection<RejectionDocument>(Collections.REJECTIONS);
    this.#reportInserts = new InsertBatcher(this.reports);
    this.#caseInserts = new InsertBatcher(this.cases);
    this.checks = db.collection<CheckDocument>(Collections.CHECKS);
    this.#checkInserts = new InsertBatcher(this.checks);
  }

  async find(reportId: string): Promise<ReportDocument | null> {
    return this.reports.findOne({ _id: reportId }, { projection: { outbox: 0, events: 0, consumerOutbox: 0 } });
  }

  /** A report and how many of its events still wait to be published, in one read (and one of marks or the ledger). */
  async findWithPending(reportId: string): Promise<{ report: ReportDocument; pendingEvents: number } | null> {
    const doc = await this.reports.findOne({ _id: reportId });
    if (!doc) return null;
    const { outbox, events, consumerOutbox, ...report } = doc;
    // A move's re-announcement is marked for the relay even in a report its consumer published (the ledger never records it).
    const moved = new Set((report.moves ?? []).map((m) => m.eventId));
    const own = (events ?? []).filter((e) => !moved.has(e.id));
    const reannounced = (events ?? []).filter((e) => moved.has(e.id));
    const unpublished = (consumerOutbox && this.consumerOutbox ? await this.consumerOutbox.countUnrecorded(own) : await this.#marks.countPending(own)) + (await this.#marks.countPending(reannounced));
    return { report, pendingEvents: (outbox?.length ?? 0) + unpublished };
  }

  /**
   * Stores a new report with its accepted event, or says it is a duplicate or a conflict. The common
   * case (new report) costs two writes and no read: FerretDB makes every round trip count.
   */
  async accept(report: NormalisedReport, ctx: AcceptContext): Promise<AcceptOutcome> {
    const receivedAt = ctx.now ?? new Date();
    const eventId = deterministicUuid(`reports.accepted:${report.reportId}`);
    // From Kafka the input message is the pending record (ConsumerOutbox): no mark. Otherwise the mark
    // (which holds no more than the event's id) goes in while the case is looked up: it must be
    // stored before the report, not after the case, and this saves a round trip.
    const consumer = ctx.channel === 'kafka';
    const [joined, marked] = await Promise.all([this.#joinOrOpenCase(report.reportId, report.caseKey, receivedAt), consumer ? [] : this.#marks.mark(Collections.REPORTS, report.reportId, [{ id: eventId }])]);
    if ('existing' in joined) {
      await this.#marks.unmark(marked);
      return this.#sameOrConflict(joined.existing, report);
    }
    const doc: ReportDocument = {
      _id: report.reportId,
      source: report.source,
      channel: ctx.channel,
      url: report.url,
      host: report.host,
      hashes: report.hashes,
      caseKey: report.caseKey,
      caseId: joined.caseId,
      fingerprint: report.fingerprint,
      providerId: ctx.resolution?.providerId ?? null,
      providerResolved: ctx.resolution !== undefined,
      receivedAt,
      inputRef: ctx.inputRef,
      notices: [],
      escalations: [],
    };
    if (ctx.resolution) doc.providerResolvedBy = ctx.resolution.by;
    for (const k of ['ip', 'observedAt', 'reporter', 'contentType', 'categoryHint'] as const) {
      if (report[k] !== undefined) (doc as unknown as Record<string, unknown>)[k] = report[k];
    }
    const event = createEvent(ReportsAccepted, {
      id: eventId,
      subject: report.reportId,
      source: SERVICE_SOURCE,
      occurredAt: receivedAt,
      data: acceptedData(doc),
    });
    const outbox = [outboxEntry(Topics.reportsAccepted, event)];
    doc.events = outbox;
    if (consumer) doc.consumerOutbox = true;
    // Marked pending (above) before the report is written: a crash between the two publishes nothing
    // (the relay finds no report holding the entry), a crash after it leaves the mark for the relay.
    const { duplicate } = await this.#marks.insert(this.#reportInserts, Collections.REPORTS, doc, marked);
    if (duplicate) {
      // Seen before (a replay, a redelivery, or the same id over HTTP and Kafka at once).
      const existing = await this.#findWithEvents(report.reportId);
      if (!existing) throw duplicate;
      return this.#sameOrConflict(existing, report);
    }
    const { events: _events, consumerOutbox: _consumerOutbox, ...stored } = doc;
    return { kind: 'accepted', report: stored, outbox, consumerPublishes: consumer };
  }

  /** A stored report with its events, which only a duplicate of a consumer-published report needs. */
  async #findWithEvents(reportId: string): Promise<ReportDocument | null> {
    return this.reports.findOne({ _id: reportId }, { projection: { outbox: 0 } });
  }

  #sameOrConflict(stored: ReportDocument, report: NormalisedReport): AcceptOutcome {
    const { events, consumerOutbox, ...existing } = stored;
    if (existing.source !== report.source) {
      return { kind: 'conflict', report: existing, reasons: [`reportId ${report.reportId} is already used by another source; report ids must be unique (prefix them with your partner id)`] };
    }
    if (existing.fingerprint !== report.fingerprint) {
      return { kind: 'conflict', report: existing, reasons: [`reportId ${report.reportId} was already used for a different URL or different hashes`] };
    }
    return consumerOutbox ? { kind: 'duplicate', report: existing, consumerEvents: events ?? [] } : { kind: 'duplicate', report: existing };
  }

  /**
   * The open case for this content at this URL, or a new one when there is none (or the last one
   * closed). A closed case is reopened only for a report not seen before, so a replay of an old
   * report opens nothing.
   */
  async #joinOrOpenCase(reportId: string, caseKey: string, now: Date): Promise<{ caseId: string } | { existing: ReportDocument }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.#caseInserts.insert({ _id: caseKey, generation: 1, caseId: caseIdOf(caseKey, 1), open: true, openedAt: now });
        return { caseId: caseIdOf(caseKey, 1) };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const current = await this.cases.findOne({ _id: caseKey });
      if (!current) continue;
      if (current.open) return { caseId: current.caseId };
      const existing = await this.#findWithEvents(reportId);
      if (existing) return { existing };
      const next = current.generation + 1;
      const reopened = await this.cases.findOneAndUpdate(
        { _id: caseKey, generation: current.generation, open: false },
        { $set: { generation: next, caseId: caseIdOf(caseKey, next), open: true, openedAt: now }, $unset: { closedAt: '' } },
        { returnDocument: 'after' },
      );
      if (reopened) return { caseId: reopened.caseId };
    }
    throw new Error(`could not open or join the case ${caseKey}`);
  }

  /** Stores a rejection and its event once per key; the same refused input seen again changes nothing. */
  async reject(key: string, rejection: Omit<RejectionDocument, '_id' | 'rejectedAt' | 'outbox'>, now = new Date()): Promise<{ stored: true; outbox: OutboxEntry[] } | { stored: false }> {
    const data: ReportsRejectedData = {
      code: rejection.code,
      reasons: rejection.reasons.map((r) => r.slice(0, 2000)).slice(0, 100),
      original: rejection.original,
      rejectedAt: now.toISOString(),
    };
    if (rejection.reportId !== undefined) data.reportId = rejection.reportId.slice(0, 500);
    if (rejection.source !== undefined) data.source = rejection.source.slice(0, 200);
    const subject = data.reportId ?? rejection.original.eventId ?? key;
    const event = createEvent(ReportsRejected, { id: deterministicUuid(`reports.rejected:${key}`), subject: subject.slice(0, 500), source: SERVICE_SOURCE, occurredAt: now, data });
    try {
      const outbox = [outboxEntry(Topics.reportsRejected, event)];
      await this.rejections.insertOne({ _id: key, ...rejection, reasons: data.reasons, rejectedAt: now, outbox });
      // Counted once per refused input (a repeat is a duplicate key), by its bounded code.
      recordRejected(data.code);
      return { stored: true, outbox };
    } catch (err) {
      if (isDuplicateKeyError(err)) return { stored: false };
      throw err;
    }
  }

  async latestRejection(reportId: string): Promise<RejectionDocument | null> {
    return this.rejections.findOne({ reportId }, { sort: { rejectedAt: -1 }, projection: { outbox: 0 } });
  }

  // What the rest of the pipeline did, as intake learns it from their events. Each update is idempotent.

  /**
   * Keeps hash-check's newest verdict on a report. The first verdict is an insert into `checks`,
   * batched with the others arriving at the same time; only a later one (a re-check, a redelivery)
   * costs an update. It used to be an update of the report itself: one round trip per report, and
   * FerretDB reads, decodes and rewrites the whole document for it (1.0 - 2.2 ms each, against
   * 0.2 ms per document for a batched insert: a throw-away script, 2,000 report-sized documents,
   * load average 2; docs/performance.md, "Pipeline").
   */
  async recordCheck(reportId: string, matched: boolean, received: MatchValue[], checkedAt: string): Promise<void> {
    // The series a match belongs to stays with notification (opt-in victim notification): not stored here.
    const matches = received.map(withoutSeries);
    try {
      await this.#checkInserts.insert({ _id: reportId, matched, matches, checkedAt });
      return;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    await this.checks.updateOne({ _id: reportId, checkedAt: { $lte: checkedAt } }, { $set: { matched, matches, checkedAt } });
  }

  /** The newest check of a report, if hash-check has reported one. */
  async findCheck(report: Pick<ReportDocument, '_id' | 'check'>): Promise<CheckResult | undefined> {
    const doc = await this.checks.findOne({ _id: report._id });
    if (!doc) return report.check;
    const { _id, ...check } = doc;
    // A report stored before `checks` existed may hold a newer verdict than a later redelivery.
    return report.check && report.check.checkedAt > check.checkedAt ? report.check : check;
  }

  async recordNotice(data: NoticesSentData): Promise<void> {
    for (const item of data.items) {
      await this.reports.updateOne(
        { _id: item.reportId, 'notices.noticeId': { $ne: data.noticeId } },
        { $push: { notices: { noticeId: data.noticeId, channel: data.channel, sentAt: data.sentAt, deadlineAt: item.deadlineAt, contact: data.contact } } },
      );
    }
  }

  async recordEscalation(data: EnforcementEscalatedData, at: string): Promise<void> {
    await this.reports.updateMany(
      { caseId: data.caseId, 'escalations.stepIndex': { $ne: data.stepIndex } },
      { $push: { escalations: { step: data.step, stepIndex: data.stepIndex, at: data.decidedAt ?? at } } },
    );
  }

  /**
   * A closed case stops collecting reports: the next report of the content at that URL opens a new
   * one. Reports intake received after the case's closedAt joined it only because this event had not
   * arrived yet (the content is back: a re-upload); they are moved to the next generation of the case
   * (moveLateReports) and announced again, and only the reports received by closedAt are stamped
   * `closed`. Returns the hints for the relay of the re-announcements written by this call.
   */
  async recordCaseClosed(data: CasesClosedData, at: string): Promise<OutboxHint[]> {
    const closedAt = data.closedAt ?? at;
    const closedAtDate = new Date(closedAt);
    // Closed first: a report arriving from now on opens the next generation itself (#joinOrOpenCase).
    await this.cases.updateOne({ caseId: data.caseId, open: true }, { $set: { open: false, closedAt: closedAtDate } });
    const hints = await this.#moveLateReports(data.caseId, closedAt);
    const closed: NonNullable<ReportDocument['closed']> = { outcome: data.outcome, closedAt };
    if (data.withinDeadline !== undefined) closed.withinDeadline = data.withinDeadline;
    if (data.timeToRemovalSeconds !== undefined) closed.timeToRemovalSeconds = data.timeToRemovalSeconds;
    // Only the reports received by closedAt: the late ones are in the next case now (or, stamped by this
    // close before reports were moved, keep that stamp).
    await this.reports.updateMany({ caseId: data.caseId, receivedAt: { $lte: closedAtDate } }, { $set: { closed } });
    return hints;
  }

  /**
   * Moves every report of `caseId` received after `closedAt` to the case's next generation (the case
   * a report not seen before opens once the case is closed; all of one close to the same one), each
   * with a new `reports.accepted` carrying the new caseId under an id derived from the report and that
   * case. Marked outbox, as for an HTTP report: the mark goes in before the move, the relay publishes
   * (a crash after the move leaves the mark for its sweep; before it, a redelivery moves and marks
   * again, and an orphan mark expires). The move is the update `{ _id, caseId: <closed case> }`, so a
   * redelivery or a replay finds nothing left to move and writes nor publishes anything. Reports
   * stamped `closed` by this close before this code existed are left as they are: a replay does not
   * re-announce them.
   */
  async #moveLateReports(caseId: string, closedAt: string): Promise<OutboxHint[]> {
    const parsed = parseCaseId(caseId);
    if (!parsed) return [];
    const { caseKey, generation } = parsed;
    const late = await this.reports
      .find({ caseId, receivedAt: { $gt: new Date(closedAt) }, closed: { $exists: false } }, { projection: { outbox: 0, events: 0, consumerOutbox: 0 } })
      .toArray();
    if (late.length === 0) return [];
    const next = generation + 1;
    const toCaseId = caseIdOf(caseKey, next);
    const openedAt = new Date(Math.min(...late.map((r) => r.receivedAt.getTime())));
    // As #joinOrOpenCase reopens a closed case. Already done (a redelivery after a crash, or a new
    // report that opened it since): the moved reports join it.
    await this.cases.updateOne({ _id: caseKey, generation, open: false }, { $set: { generation: next, caseId: toCaseId, open: true, openedAt }, $unset: { closedAt: '' } });
    const now = new Date();
    const hints: OutboxHint[] = [];
    for (const report of late) {
      const eventId = movedAcceptedEventId(report._id, toCaseId);
      const event = createEvent(ReportsAccepted, { id: eventId, subject: report._id, source: SERVICE_SOURCE, occurredAt: now, data: acceptedData({ ...report, caseId: toCaseId }) });
      const entry = outboxEntry(Topics.reportsAccepted, event);
      const move: CaseMove = { fromCaseId: caseId, toCaseId, closedAt, eventId, at: now };
      const marked = await this.#marks.mark(Collections.REPORTS, report._id, [entry]);
      const res = await this.reports.updateOne({ _id: report._id, caseId }, { $set: { caseId: toCaseId }, $push: { events: entry, moves: move } });
      if (res.matchedCount === 0) {
        // Moved meanwhile by another delivery of this close: that one's mark covers its entry.
        await this.#marks.unmark(marked);
        continue;
      }
      hints.push({ collection: Collections.REPORTS, id: report._id, entries: [entry] });
    }
    return hints;
  }
}

/** The id of the `reports.accepted` that announces a report again in the case it was moved to. */
export function movedAcceptedEventId(reportId: string, toCaseId: string): string {
  // `@` is in neither a report id nor a case id: no name here is also a first announcement's.
  return deterministicUuid(`reports.accepted:${reportId}@${toCaseId}`);
}

export function acceptedData(doc: ReportDocument): ReportsAcceptedData {
  const data: ReportsAcceptedData = {
    reportId: doc._id,
    source: doc.source,
    channel: doc.channel,
    url: doc.url,
    host: doc.host,
    providerId: doc.providerId,
    providerResolved: doc.providerResolved,
    hashes: doc.hashes,
    receivedAt: doc.receivedAt.toISOString(),
    caseKey: doc.caseKey,
    caseId: doc.caseId,
  };
  if (doc.ip !== undefined) data.ip = doc.ip;
  if (doc.observedAt !== undefined) data.observedAt = doc.observedAt;
  if (doc.reporter !== undefined) data.reporter = doc.reporter;
  if (doc.contentType !== undefined) data.contentType = doc.contentType;
  if (doc.categoryHint !== undefined) data.categoryHint = doc.categoryHint;
  return data;
}
