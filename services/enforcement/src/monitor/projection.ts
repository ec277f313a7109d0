import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import {
  CasesClosed,
  EnforcementEscalated,
  NoticesSent,
  ReportsMatched,
  Topics,
  type CasesClosedData,
  type EnforcementEscalatedData,
  type EventEnvelope,
  type NoticesSentData,
  type ReportsMatchedData,
} from '@hashcheck/events';
import type { CollectionIndexes } from '@hashcheck/mongo';

export const FACTS = 'monitor_facts';

export const FactKind = { REPORT: 'report', NOTICE: 'notice', ESCALATION: 'escalation', CLOSED: 'closed' } as const;
export type FactKindValue = (typeof FactKind)[keyof typeof FactKind];

/**
 * One document per fact the monitor counts, keyed by the fact itself (report id, notice id, case
 * and step), so a redelivered or replayed event inserts nothing new. Facts carry no URLs, hosts or
 * IP addresses: the statistics outlive the retention of personal data.
 */
export interface FactDocument {
  _id: string;
  kind: FactKindValue;
  providerId: string;
  at: Date;
  /** 1 for counting with $sum (FerretDB 1.24 has only $sum/$count accumulators). */
  n: number;
  items?: number;
  step?: string;
  outcome?: string;
  seconds?: number | null;
  within?: boolean | null;
}

export const FACT_INDEXES: CollectionIndexes = {
  collection: FACTS,
  indexes: [{ key: { kind: 1, providerId: 1 }, name: 'by_kind_provider' }, { key: { kind: 1, at: 1 }, name: 'by_kind_time' }],
};

export const MONITOR_TOPICS = [Topics.reportsMatched, Topics.noticesSent, Topics.enforcementEscalated, Topics.casesClosed];

export function factOf(event: EventEnvelope): FactDocument | undefined {
  if (event.type === ReportsMatched.type) {
    const d = event.data as ReportsMatchedData;
    if (!d.providerId) return undefined;
    return { _id: `report:${d.reportId}`, kind: FactKind.REPORT, providerId: d.providerId, at: new Date(d.receivedAt), n: 1 };
  }
  if (event.type === NoticesSent.type) {
    const d = event.data as NoticesSentData;
    return { _id: `notice:${d.noticeId}`, kind: FactKind.NOTICE, providerId: d.providerId, at: new Date(d.sentAt), n: 1, items: d.items.length };
  }
  if (event.type === EnforcementEscalated.type) {
    const d = event.data as EnforcementEscalatedData;
    return { _id: `escalation:${d.caseId}:${d.stepIndex}`, kind: FactKind.ESCALATION, providerId: d.providerId, at: new Date(d.decidedAt ?? event.occurredAt), n: 1, step: d.step };
  }
  if (event.type === CasesClosed.type) {
    const d = event.data as CasesClosedData;
    return {
      _id: `closed:${d.caseId}`, kind: FactKind.CLOSED, providerId: d.providerId, at: new Date(d.closedAt ?? event.occurredAt), n: 1,
      outcome: d.outcome, seconds: d.timeToRemovalSeconds ?? null, within: d.withinDeadline ?? null,
    };
  }
  return undefined;
}

export class MonitorProjection {
  readonly coll: Collection<FactDocument>;

  constructor(db: Db) {
    this.coll = db.collection<FactDocument>(FACTS);
  }

  /** Records the fact an event carries; true when it was new. */
  async apply(event: EventEnvelope): Promise<boolean> {
    const fact = factOf(event);
    if (!fact) return false;
    try {
      await this.coll.insertOne(fact);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }
}
