import { CasesClosed, createEvent, EnforcementEscalated, HashesRetractionRequested, NoticesRequested, Topics, type HashTypeValue } from '@hashcheck/events';
import type { ChainHead } from '@hashcheck/evidence';
import { outboxEntry, type OutboxEntry } from '@hashcheck/mongo';
import type { CaseEffect, CaseState } from './domain/case';
import { deterministicUuid } from './domain/ids';

export const SOURCE = 'enforcement';

/**
 * The events a decision emits, as outbox entries for the case document. Ids are derived from
 * the fact (case and step, request id), so a retried write or a replayed input never yields a
 * second, different event for the same fact.
 *
 * `enforcement.escalated` and `cases.closed` carry `evidenceHead`, the evidence chain head after
 * the record that emits them: an anchor outside the database, against which an export cut at
 * its end (or rewritten) fails to verify.
 */
export function effectsToOutbox(state: CaseState, effects: readonly CaseEffect[], at: Date, evidenceHead: ChainHead | null = null): OutboxEntry[] {
  const anchor = evidenceHead ? { evidenceHead: { seq: evidenceHead.seq, hash: evidenceHead.hash } } : {};
  return effects.map((e) => {
    switch (e.type) {
      case 'notice-requested':
        return outboxEntry(Topics.noticesRequested, createEvent(NoticesRequested, {
          id: deterministicUuid(`notices.requested:${e.requestId}`),
          source: SOURCE,
          subject: e.providerId,
          occurredAt: at,
          data: {
            requestId: e.requestId,
            providerId: e.providerId,
            caseIds: [e.caseId],
            ...(e.item ? { items: [{ ...e.item, deadlineAt: e.item.deadlineAt.toISOString() }] } : {}),
            reason: e.reason,
            attempt: e.attempt,
            deadlineAt: e.deadlineAt.toISOString(),
          },
        }));
      case 'escalated':
        return outboxEntry(Topics.enforcementEscalated, createEvent(EnforcementEscalated, {
          id: deterministicUuid(`enforcement.escalated:${state.id}:${e.stepIndex}`),
          source: SOURCE,
          subject: state.id,
          occurredAt: at,
          data: {
            caseId: state.id,
            providerId: e.providerId,
            step: e.step,
            stepIndex: e.stepIndex,
            decidedBy: e.decidedBy,
            decidedAt: e.decidedAt.toISOString(),
            deadlineAt: e.deadlineAt.toISOString(),
            reason: e.reason,
            ...(e.penalty ? { penaltyAmountEur: e.penalty.amountEur, penaltyPeriodSeconds: e.penalty.periodSeconds, penaltyCapEur: e.penalty.capEur } : {}),
            ...(e.fineEur !== undefined ? { fineEur: e.fineEur } : {}),
            ...anchor,
          },
        }));
      case 'closed':
        return outboxEntry(Topics.casesClosed, createEvent(CasesClosed, {
          id: deterministicUuid(`cases.closed:${state.id}`),
          source: SOURCE,
          subject: state.id,
          occurredAt: at,
          data: {
            caseId: state.id,
            ...(state.caseKey ? { caseKey: state.caseKey } : {}),
            providerId: e.providerId,
            outcome: e.outcome,
            closedAt: e.closedAt.toISOString(),
            reportIds: e.reportIds,
            ...(e.timeToRemovalMs !== null ? { timeToRemovalSeconds: e.timeToRemovalMs / 1000 } : {}),
            ...(e.withinDeadline !== null ? { withinDeadline: e.withinDeadline } : {}),
            ...anchor,
          },
        }));
      case 'retraction-requested':
        return outboxEntry(Topics.hashesRetractionRequested, createEvent(HashesRetractionRequested, {
          id: deterministicUuid(`hashes.retraction-requested:${e.requestId}`),
          source: SOURCE,
          subject: `${e.hashType}:${e.hash}`,
          occurredAt: at,
          data: {
            requestId: e.requestId,
            hashType: e.hashType as HashTypeValue,
            hash: e.hash,
            caseId: state.id,
            ...(e.reportId ? { reportId: e.reportId } : {}),
            reason: e.reason,
            requestedBy: e.requestedBy,
          },
        }));
    }
  });
}
