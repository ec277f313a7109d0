import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import { createEvent, ReportsMatched, ReportsUnmatched, Topics, type EventEnvelope, type ReportsAcceptedData } from '@hashcheck/events';
import { InsertBatcher, OUTBOX_INDEX, outboxEntry, type CollectionIndexes, type OutboxEntry, type WithConsumerOutbox, type WithEvents, type WithOutbox } from '@hashcheck/mongo';
import { deterministicUuid } from '../domain/ids';
import type { ReportMatch } from '../engine/list-engine';
import { Collections, SERVICE_SOURCE } from './collections';

/**
 * `events`: the matched/unmatched event, published by the consumer handler that wrote the check
 * (`consumerOutbox`, ConsumerOutbox); checks stored before that marked it pending for the relay
 * (PendingMarks), and older ones still kept it in `outbox`.
 */
export interface ReportCheckDoc extends WithOutbox, WithEvents, WithConsumerOutbox {
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

/**
 * A check just stored, with the entries its handler publishes; or one stored before (a redelivery,
 * a replay), with its events when its handler was the one to publish them (`consumerEvents`).
 */
export type CheckOutcome = { fresh: true; entries: OutboxEntry[] } | { fresh: false; consumerEvents: OutboxEntry[] | undefined };

/** Checks of accepted reports, each with its matched/unmatched event in the same document. */
export class ReportCheckStore {
  readonly checks: Collection<ReportCheckDoc>;
  /** Checks of the reports handled at once share one insertMany (the consumer runs a batch's messages together). */
  readonly #inserts: InsertBatcher<ReportCheckDoc>;

  constructor(db: Db) {
    this.checks = db.collection<ReportCheckDoc>(Collections.REPORT_CHECKS);
    this.#inserts = new InsertBatcher(this.checks);
  }

  /** Stores the outcome with its event, unless this accepted event was checked already. */
  async record(accepted: EventEnvelope<ReportsAcceptedData>, matches: ReportMatch[]): Promise<CheckOutcome> {
    const checkedAt = new Date();
    const data = accepted.data;
    const event =
      matches.length > 0
        ? createEvent(ReportsMatched, { id: deterministicUuid(`reports.checked:${accepted.id}`), subject: data.reportId, source: SERVICE_SOURCE, occurredAt: checkedAt, data: { ...data, matches, checkedAt: checkedAt.toISOString() } })
        : createEvent(ReportsUnmatched, { id: deterministicUuid(`reports.checked:${accepted.id}`), subject: data.reportId, source: SERVICE_SOURCE, occurredAt: checkedAt, data: { ...data, checkedAt: checkedAt.toISOString() } });
    const topic = matches.length > 0 ? Topics.reportsMatched : Topics.reportsUnmatched;
    const outbox = [outboxEntry(topic, event)];
    // No mark: the accepted event stays uncommitted until the handler has published (ConsumerOutbox).
    try {
      await this.#inserts.insert({ _id: accepted.id, reportId: data.reportId, caseId: data.caseId, hashes: data.hashes, matched: matches.length > 0, matches, checkedAt, events: outbox, consumerOutbox: true });
      return { fresh: true, entries: outbox };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const stored = await this.checks.findOne({ _id: accepted.id }, { projection: { events: 1, consumerOutbox: 1 } });
    return { fresh: false, consumerEvents: stored?.consumerOutbox ? (stored.events ?? []) : undefined };
  }

  async hashesOfCase(caseId: string): Promise<{ hashes: ReportsAcceptedData['hashes']; matches: ReportMatch[] }[]> {
    return this.checks.find({ caseId }, { projection: { hashes: 1, matches: 1 } }).toArray();
  }
}
