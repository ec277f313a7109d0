import {
  CasesClosed,
  EnforcementEscalated,
  NoticesSent,
  ReportsMatched,
  ReportsUnmatched,
  Topics,
  type CasesClosedData,
  type EnforcementEscalatedData,
  type EventEnvelope,
  type NoticesSentData,
  type ReportsMatchedData,
  type ReportsUnmatchedData,
} from '@hashcheck/events';
import type { EventHandler } from '@hashcheck/kafka';
import type { OutboxHint } from '@hashcheck/mongo';
import type { ReportStore } from '../store/reports';

export const PIPELINE_STATUS_TOPICS = [Topics.reportsMatched, Topics.reportsUnmatched, Topics.noticesSent, Topics.enforcementEscalated, Topics.casesClosed];

/**
 * Follows the report downstream so GET /v1/reports/:id can say where it is. Every update is
 * idempotent. A close that reached intake after reports had joined the closed case moves them to a
 * new case and announces them again (ReportStore.recordCaseClosed): those events are marked pending
 * for the outbox relay, which `notify` wakes.
 */
export function pipelineStatusHandler(store: ReportStore, notify: (hint: OutboxHint) => void, logger: { info: (o: object, m: string) => void }): EventHandler {
  return async (event: EventEnvelope) => {
    if (event.version !== 1) return;
    switch (event.type) {
      case ReportsMatched.type: {
        const d = event.data as ReportsMatchedData;
        await store.recordCheck(d.reportId, true, d.matches, d.checkedAt);
        return;
      }
      case ReportsUnmatched.type: {
        const d = event.data as ReportsUnmatchedData;
        await store.recordCheck(d.reportId, false, [], d.checkedAt);
        return;
      }
      case NoticesSent.type:
        await store.recordNotice(event.data as NoticesSentData);
        return;
      case EnforcementEscalated.type:
        await store.recordEscalation(event.data as EnforcementEscalatedData, event.occurredAt);
        return;
      case CasesClosed.type:
      {
        const d = event.data as CasesClosedData;
        const hints = await store.recordCaseClosed(d, event.occurredAt);
        for (const hint of hints) notify(hint);
        // Content back at a URL whose case had just closed: worth an operator's glance if it is frequent.
        if (hints.length > 0) logger.info({ caseId: d.caseId, closedAt: d.closedAt, reportIds: hints.map((h) => h.id) }, 'reports received after their case closed moved to a new case');
        return;
      }
      default:
    }
  };
}
