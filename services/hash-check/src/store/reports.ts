import type { Collection, Db } from 'mongodb';
import { createEvent, ReportsMatched, ReportsUnmatched, Topics, type EventEnvelope, type ReportsAcceptedData } from '@hashcheck/events';
import { InsertBatcher, OUTBOX_INDEX, outboxEntry, PendingMarks, type CollectionIndexes, type OutboxEntry, type WithEvents, type WithOutbox } from '@hashcheck/mongo';
import { deterministicUuid } from '../domain/ids';
import type { ReportMatch } from '../engine/list-engine';
import { Collections, SERVICE_SOURCE } from './collections';

/** `events`: the matched/unmatched event, marked pending until published (PendingMarks); `outbox`: checks stored before that. */
export interface ReportCheckDoc extends WithOutbox, WithEvents {
  /** The reports.accepted event id: one check per accepted event, whatever the redeliveries. */
  _id: string;
  reportId: string;
  caseId: string;
  /** The report's own hashes (already in the report pipeline), kept to resolve retraction requests by case. */
  hashes: ReportsAcceptedData['hashes'];
  matched: boolean;
  matches: ReportMatch[];
  checkedAt: Date;
}

export const REPORT_INDEXES: CollectionIndexes[] = [
  { collection: Collections.REPORT_CHECKS, indexes: [OUTBOX_INDEX, { key: { caseId: 1 }, name: 'by_case' }, { key: { reportId: 1 }, name: 'by_report' }] },
];

/** Checks of accepted reports, each with its matched/unmatched event in the same document. */
export class ReportCheckStore {
  readonly checks: Collection<ReportCheckDoc>;
  /** Checks of the reports handled at once share one insertMany (the consumer runs a batch's messages together). */
  readonly #inserts: InsertBatcher<ReportCheckDoc>;
  readonly #marks: PendingMarks;

  constructor(db: Db) {
    this.#marks = new PendingMarks(db);
    this.checks = db.collection<ReportCheckDoc>(Collections.REPORT_CHECKS);
    this.#inserts = new InsertBatcher(this.checks);
  }

  /**
   * Stores the outcome with its event; returns the stored outbox entries (for the relay), or
   * undefined when this accepted event was checked already.
   */
  async record(accepted: EventEnvelope<ReportsAcceptedData>, matches: ReportMatch[]): Promise<OutboxEntry[] | undefined> {
    const checkedAt = new Date();
    const data = accepted.data;
    const event =
      matches.length > 0
        ? createEvent(ReportsMatched, { id: deterministicUuid(`reports.checked:${accepted.id}`), subject: data.reportId, source: SERVICE_SOURCE, occurredAt: checkedAt, data: { ...data, matches, checkedAt: checkedAt.toISOString() } })
        : createEvent(ReportsUnmatched, { id: deterministicUuid(`reports.checked:${accepted.id}`), subject: data.reportId, source: SERVICE_SOURCE, occurredAt: checkedAt, data: { ...data, checkedAt: checkedAt.toISOString() } });
    const topic = matches.length > 0 ? Topics.reportsMatched : Topics.reportsUnmatched;
    const outbox = [outboxEntry(topic, event)];
    // Marked pending before the check is written; false: checked before (a redelivery).
    const { duplicate } = await this.#marks.insert(this.#inserts, Collections.REPORT_CHECKS, { _id: accepted.id, reportId: data.reportId, caseId: data.caseId, hashes: data.hashes, matched: matches.length > 0, matches, checkedAt, events: outbox });
    return duplicate ? undefined : outbox;
  }

  async hashesOfCase(caseId: string): Promise<{ hashes: ReportsAcceptedData['hashes']; matches: ReportMatch[] }[]> {
    return this.checks.find({ caseId }, { projection: { hashes: 1, matches: 1 } }).toArray();
  }
}
