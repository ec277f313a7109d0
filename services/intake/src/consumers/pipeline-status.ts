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
import type { ReportStore } from '../store/reports';

export const PIPELINE_STATUS_TOPICS = [Topics.reportsMatched, Topics.reportsUnmatched, Topics.noticesSent, Topics.enforcementEscalated, Topics.casesClosed];

/** Follows the report downstream so GET /v1/reports/:id can say where it is. Every update is idempotent. */
export function pipelineStatusHandler(store: ReportStore): EventHandler {
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
        await store.recordCaseClosed(event.data as CasesClosedData, event.occurredAt);
        return;
      default:
    }
  };
}
