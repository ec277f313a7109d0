import { Type, type Static } from '@hashcheck/config';
import type { TSchema } from '@sinclair/typebox';
import type { ChainHead } from '@hashcheck/evidence';
import { accruedPenalty, type CaseState } from '../domain/case';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });

/** What every route of this service can answer besides its own statuses (every route needs a key). */
export const ErrorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

export const CaseIdParam = Type.Object({ caseId: Type.String({ minLength: 1, maxLength: 200 }) });
export const NoticeIdParam = Type.Object({ noticeId: Type.String({ minLength: 1, maxLength: 200 }) });
export const DisputeIdParam = Type.Object({ disputeId: Type.String({ minLength: 1, maxLength: 100 }) });

const DisputeView = Type.Object({
  disputeId: Type.String(),
  noticeId: Nullable(Type.String()),
  openedAt: Type.String(),
  openedBy: Type.String(),
  decision: Nullable(Type.String()),
  decidedAt: Nullable(Type.String()),
  decidedBy: Nullable(Type.String()),
});

/** What a provider sees of its own case. */
export const ProviderCaseView = Type.Object({
  caseId: Type.String(),
  url: Nullable(Type.String()),
  status: Type.String(),
  outcome: Nullable(Type.String()),
  deadlineAt: Nullable(Type.String()),
  removedAt: Nullable(Type.String()),
  timeToRemovalSeconds: Nullable(Type.Number()),
  withinDeadline: Nullable(Type.Boolean()),
  disputes: Type.Array(DisputeView),
});
export type ProviderCaseViewValue = Static<typeof ProviderCaseView>;

/** What hotline and regulator see. */
export const CaseView = Type.Object({
  ...ProviderCaseView.properties,
  caseKey: Type.String(),
  providerId: Nullable(Type.String()),
  host: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  reportIds: Type.Array(Type.String()),
  hashes: Type.Array(Type.String()),
  reupload: Type.Boolean(),
  reuploadOf: Nullable(Type.String()),
  clockStartedAt: Nullable(Type.String()),
  initialDeadlineAt: Nullable(Type.String()),
  pausedMs: Type.Number(),
  stepIndex: Type.Integer(),
  pendingStep: Nullable(Type.Object({ index: Type.Integer(), name: Type.String(), proposedAt: Type.String() })),
  steps: Type.Array(Type.Object({ index: Type.Integer(), name: Type.String(), issuedAt: Type.String(), deadlineAt: Type.String(), decidedBy: Type.String(), requestId: Nullable(Type.String()) })),
  notices: Type.Array(Type.Object({ noticeId: Type.String(), sentAt: Type.String(), deadlineAt: Type.String(), channel: Type.String(), requestId: Nullable(Type.String()) })),
  penalty: Nullable(Type.Object({ orderDate: Type.String(), amountEur: Type.Number(), periodSeconds: Type.Number(), capEur: Type.Number(), accruedEur: Type.Number(), periods: Type.Integer(), capped: Type.Boolean() })),
  nextTimerAt: Nullable(Type.String()),
  createdAt: Type.String(),
  closedAt: Nullable(Type.String()),
  evidenceHead: Type.Optional(Nullable(Type.Object({
    seq: Type.Integer(),
    hash: Type.String(),
  }, { description: 'The evidence chain head after the latest change (GET /v1/cases/{id} only): the export must verify against it.' }))),
});
export type CaseViewValue = Static<typeof CaseView>;

/**
 * A dispute as its case's viewers see it. Providers learn that a case officer decided, not which
 * one: the label names a person or desk at the hotline or the regulator.
 */
function disputeView(d: CaseState['disputes'][number], staffLabels: boolean): Static<typeof DisputeView> {
  const decidedBy = d.decidedBy === null ? null : staffLabels ? d.decidedBy : 'case officer';
  return { disputeId: d.id, noticeId: d.noticeId, openedAt: d.openedAt.toISOString(), openedBy: d.openedBy, decision: d.decision, decidedAt: iso(d.decidedAt), decidedBy };
}

export function providerCaseView(s: CaseState): ProviderCaseViewValue {
  return {
    caseId: s.id,
    url: s.url,
    status: s.status,
    outcome: s.outcome,
    deadlineAt: iso(s.deadlineAt),
    removedAt: iso(s.removedAt),
    timeToRemovalSeconds: s.timeToRemovalMs === null ? null : s.timeToRemovalMs / 1000,
    withinDeadline: s.withinDeadline,
    disputes: s.disputes.map((d) => disputeView(d, false)),
  };
}

/** `evidenceHead`: given where the route read the case's latest record (one case by id). */
export function caseView(s: CaseState, now: Date, evidenceHead?: ChainHead | null): CaseViewValue {
  const accrued = accruedPenalty(s, now);
  return {
    ...providerCaseView(s),
    disputes: s.disputes.map((d) => disputeView(d, true)),
    caseKey: s.caseKey,
    providerId: s.providerId,
    host: s.host,
    ip: s.ip,
    reportIds: s.reportIds,
    hashes: s.hashes,
    reupload: s.reupload,
    reuploadOf: s.reuploadOf,
    clockStartedAt: iso(s.clockStartedAt),
    initialDeadlineAt: iso(s.initialDeadlineAt),
    pausedMs: s.pausedMs,
    stepIndex: s.stepIndex,
    pendingStep: s.pending ? { index: s.pending.index, name: s.pending.name, proposedAt: s.pending.proposedAt.toISOString() } : null,
    steps: s.steps.map((x) => ({ index: x.index, name: x.name, issuedAt: x.issuedAt.toISOString(), deadlineAt: x.deadlineAt.toISOString(), decidedBy: x.decidedBy, requestId: x.requestId })),
    notices: s.notices.map((n) => ({ noticeId: n.noticeId, sentAt: n.sentAt.toISOString(), deadlineAt: n.deadlineAt.toISOString(), channel: n.channel, requestId: n.requestId })),
    penalty: s.penalty && accrued
      ? { orderDate: s.penalty.orderDate.toISOString(), amountEur: s.penalty.amountEur, periodSeconds: s.penalty.periodMs / 1000, capEur: s.penalty.capEur, accruedEur: accrued.amountEur, periods: accrued.periods, capped: accrued.capped }
      : null,
    nextTimerAt: iso(s.dueAt),
    createdAt: s.createdAt.toISOString(),
    closedAt: iso(s.closedAt),
    ...(evidenceHead !== undefined ? { evidenceHead: evidenceHead ? { seq: evidenceHead.seq, hash: evidenceHead.hash } : null } : {}),
  };
}

export const CaseOutcomeView = Type.Object({
  caseId: Type.String(),
  result: Type.Union([Type.Literal('changed'), Type.Literal('unchanged'), Type.Literal('refused')]),
  message: Type.Optional(Type.String()),
  disputeId: Type.Optional(Type.String()),
  case: Type.Optional(ProviderCaseView),
});
