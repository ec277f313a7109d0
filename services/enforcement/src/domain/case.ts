import { redactable } from '@hashcheck/evidence';
import type { AppliedDeadline } from './policy';
import { effectiveDeadline } from './policy';
import { penaltyAccrued, stepDeadline, type Ladder, type PenaltyAccrual, type PenaltyTerms } from './ladder';

/**
 * One case per provider and content item (intake's caseId). Pure state machine: each input and
 * the current state give the next state, the evidence entries to append and the events to emit.
 * The store writes all three in one document update, so none happens without the others.
 */
export const CaseStatus = {
  /** Matched, no notice delivered yet: the clock has not started. */
  PENDING: 'pending',
  /** The clock runs towards `deadlineAt`. */
  OPEN: 'open',
  /** A dispute paused the clock until the hotline decides. */
  DISPUTED: 'disputed',
  /** The next step needs a case officer's decision. */
  AWAITING_OFFICER: 'awaiting-officer',
  CLOSED: 'closed',
} as const;
export type CaseStatusValue = (typeof CaseStatus)[keyof typeof CaseStatus];

export const Outcome = { REMOVED: 'removed', FALSE_POSITIVE: 'false-positive', WITHDRAWN: 'withdrawn' } as const;
export type OutcomeValue = (typeof Outcome)[keyof typeof Outcome];

export const DisputeDecision = { FALSE_POSITIVE: 'false-positive', REJECTED: 'rejected' } as const;
export type DisputeDecisionValue = (typeof DisputeDecision)[keyof typeof DisputeDecision];

export const OfficerDecision = { ISSUE: 'issue', SKIP: 'skip', DEFER: 'defer' } as const;
export type OfficerDecisionValue = (typeof OfficerDecision)[keyof typeof OfficerDecision];

export const SYSTEM = 'system';

export interface NoticeRecord {
  noticeId: string;
  sentAt: Date;
  deadlineAt: Date;
  channel: string;
  requestId: string | null;
}

export interface DisputeRecord {
  id: string;
  noticeId: string | null;
  openedAt: Date;
  openedBy: string;
  decision: DisputeDecisionValue | null;
  decidedAt: Date | null;
  decidedBy: string | null;
}

export interface StepRecord {
  index: number;
  name: string;
  issuedAt: Date;
  deadlineAt: Date;
  decidedBy: string;
  requestId: string | null;
}

export interface PenaltyRecord extends PenaltyTerms {
  stepIndex: number;
  /** The order's date: accrual is computed from here. */
  orderDate: Date;
  /** Time the clock was paused by disputes after the order: no accrual then. */
  suspendedMs: number;
}

/** The terms as they apply now: a suspension (decided disputes, plus `openPauseMs`) pushes the start of accrual back. */
function effectiveTerms(p: PenaltyRecord, openPauseMs = 0): PenaltyTerms {
  return { ...p, graceMs: p.graceMs + p.suspendedMs + openPauseMs };
}

export interface CaseState {
  id: string;
  caseKey: string;
  providerId: string | null;
  /** Personal data: erased by the retention job once the case is old enough. */
  url: string | null;
  host: string | null;
  ip: string | null;
  reportIds: string[];
  /** `type:hex` of every hash that matched a list; what re-uploads and false positives key on. */
  hashes: string[];
  status: CaseStatusValue;
  outcome: OutcomeValue | null;
  reupload: boolean;
  reuploadOf: string | null;
  clockStartedAt: Date | null;
  /** The first notice's deadline, extended by any pause that began before it. */
  initialDeadlineAt: Date | null;
  /** The deadline of the current step. */
  deadlineAt: Date | null;
  pausedAt: Date | null;
  pausedMs: number;
  resumeStatus: CaseStatusValue | null;
  /** Last ladder step issued; -1 while only the first notice has gone out. */
  stepIndex: number;
  pending: { index: number; name: string; proposedAt: Date } | null;
  steps: StepRecord[];
  notices: NoticeRecord[];
  noticeAttempts: number;
  penalty: PenaltyRecord | null;
  disputes: DisputeRecord[];
  /** The durable timer: when this case must next be looked at. */
  dueAt: Date | null;
  removedAt: Date | null;
  closedAt: Date | null;
  timeToRemovalMs: number | null;
  withinDeadline: boolean | null;
  createdAt: Date;
  /** Event ids already applied (bounded), so a redelivered event changes nothing. */
  seenEvents: string[];
}

export interface MatchInfo {
  listId: string;
  listName: string;
  category: string;
  hashType: string;
  distance: number;
}

export type CaseInput =
  | {
      type: 'report-matched';
      eventId: string;
      caseKey: string;
      reportId: string;
      providerId: string | null;
      url: string;
      host: string;
      ip?: string;
      hashes: string[];
      matches: MatchInfo[];
      receivedAt: string;
      checkedAt: string;
      /** A removed case at the same provider with one of these hashes, when the store found one. */
      reuploadOf?: { caseId: string; hash: string } | null;
    }
  | {
      type: 'notice-sent';
      eventId: string;
      noticeId: string;
      providerId: string;
      caseKey: string;
      reportId: string;
      url: string;
      channel: string;
      contact: string;
      sentAt: Date;
      noticeDeadlineAt: Date;
      requestId?: string;
      attempt?: number;
      deliveryProof: unknown;
    }
  | {
      /** notices.failed with `undeliverable: true`: nobody at the provider was reached. */
      type: 'notice-failed';
      eventId: string;
      noticeId: string;
      providerId: string;
      caseKey: string;
      reportId: string;
      url: string;
      channel: string;
      contact?: string;
      reason: string;
      attempt?: number;
      failedAt: Date;
    }
  | { type: 'timer-fired' }
  | { type: 'removal'; source: 'provider' | 'observer'; eventId?: string; removedAt: Date; by: string; noticeId?: string; claimedRemovedAt?: Date; note?: string }
  | { type: 'still-online'; eventId: string; observedAt: Date; by: string }
  | { type: 'dispute-opened'; disputeId: string; noticeId: string | null; reason: string; by: string }
  | { type: 'dispute-decided'; disputeId: string; decision: DisputeDecisionValue; by: string; note?: string }
  | { type: 'officer-decision'; stepIndex: number; decision: OfficerDecisionValue; until?: Date; officer: string; note?: string }
  | { type: 'false-positive-sweep'; hash: string; requestId: string; sourceCaseId: string | null };

export type CaseEffect =
  | { type: 'notice-requested'; requestId: string; providerId: string; caseId: string; item: { reportId: string; caseKey: string; caseId: string; url: string; deadlineAt: Date } | null; reason: string; attempt: number; deadlineAt: Date }
  | {
      type: 'escalated';
      stepIndex: number;
      step: string;
      providerId: string;
      decidedBy: string;
      decidedAt: Date;
      deadlineAt: Date;
      reason: string;
      penalty?: { amountEur: number; periodSeconds: number; capEur: number };
      fineEur?: number;
    }
  | { type: 'closed'; outcome: OutcomeValue; providerId: string; closedAt: Date; timeToRemovalMs: number | null; withinDeadline: boolean | null; reportIds: string[] }
  | { type: 'retraction-requested'; requestId: string; hashType: string; hash: string; reason: string; requestedBy: string; reportId: string | null };

export interface EvidenceDraft {
  kind: string;
  data: unknown;
}

export interface CaseContext {
  now: Date;
  ladder: Ladder;
  /** The deadline that applies to this case's provider now (orders, category, default). */
  policy: AppliedDeadline;
}

export type Decision =
  | { kind: 'changed'; state: CaseState; evidence: EvidenceDraft[]; effects: CaseEffect[] }
  | { kind: 'unchanged'; reason: string }
  | { kind: 'refused'; code: 'not-found' | 'conflict' | 'invalid'; message: string };

const SEEN_LIMIT = 500;

export function newCase(id: string, caseKey: string, now: Date): CaseState {
  return {
    id, caseKey, providerId: null, url: null, host: null, ip: null, reportIds: [], hashes: [],
    status: CaseStatus.PENDING, outcome: null, reupload: false, reuploadOf: null,
    clockStartedAt: null, initialDeadlineAt: null, deadlineAt: null, pausedAt: null, pausedMs: 0, resumeStatus: null,
    stepIndex: -1, pending: null, steps: [], notices: [], noticeAttempts: 0, penalty: null, disputes: [],
    dueAt: null, removedAt: null, closedAt: null, timeToRemovalMs: null, withinDeadline: null,
    createdAt: now, seenEvents: [],
  };
}

/** Builds up one decision: a working copy of the state plus what to record and emit. */
class Draft {
  readonly evidence: EvidenceDraft[] = [];
  readonly effects: CaseEffect[] = [];
  constructor(readonly s: CaseState, readonly ctx: CaseContext) {}
  record(kind: string, data: unknown): void {
    this.evidence.push({ kind, data });
  }
  emit(effect: CaseEffect): void {
    this.effects.push(effect);
  }
  done(): Decision {
    return { kind: 'changed', state: this.s, evidence: this.evidence, effects: this.effects };
  }
}

function clone(s: CaseState): CaseState {
  return structuredClone(s);
}

function markSeen(s: CaseState, eventId: string | undefined): void {
  if (!eventId) return;
  s.seenEvents.push(eventId);
  if (s.seenEvents.length > SEEN_LIMIT) s.seenEvents.splice(0, s.seenEvents.length - SEEN_LIMIT);
}

const isClosed = (s: CaseState): boolean => s.status === CaseStatus.CLOSED;

/** Applies one input. `state` is undefined when the case does not exist yet. */
export function decide(state: CaseState | undefined, input: CaseInput, ctx: CaseContext, create?: { id: string; caseKey: string }): Decision {
  if (!state) {
    if (!create || (input.type !== 'report-matched' && input.type !== 'notice-sent' && input.type !== 'notice-failed')) return { kind: 'refused', code: 'not-found', message: 'no such case' };
    const fresh = newCase(create.id, create.caseKey, ctx.now);
    const decision = decide(fresh, input, ctx);
    if (decision.kind !== 'changed') return decision;
    return { ...decision, evidence: [{ kind: 'case.opened', data: { caseId: create.id, caseKey: create.caseKey, by: input.type } }, ...decision.evidence] };
  }
  if ('eventId' in input && input.eventId && state.seenEvents.includes(input.eventId)) return { kind: 'unchanged', reason: 'event already applied' };
  switch (input.type) {
    case 'report-matched':
      return reportMatched(state, input, ctx);
    case 'notice-sent':
      return noticeSent(state, input, ctx);
    case 'notice-failed':
      return noticeFailed(state, input, ctx);
    case 'timer-fired':
      return timerFired(state, ctx);
    case 'removal':
      return removal(state, input, ctx);
    case 'still-online': {
      const d = new Draft(clone(state), ctx);
      markSeen(d.s, input.eventId);
      d.record('observation.still-online', { by: input.by, observedAt: input.observedAt.toISOString(), status: d.s.status });
      return d.done();
    }
    case 'dispute-opened':
      return disputeOpened(state, input, ctx);
    case 'dispute-decided':
      return disputeDecided(state, input, ctx);
    case 'officer-decision':
      return officerDecision(state, input, ctx);
    case 'false-positive-sweep': {
      if (isClosed(state)) return { kind: 'unchanged', reason: 'case already closed' };
      const d = new Draft(clone(state), ctx);
      close(d, Outcome.FALSE_POSITIVE, { reason: `hash ${input.hash} upheld as a false positive`, requestId: input.requestId, sourceCaseId: input.sourceCaseId });
      return d.done();
    }
  }
}

function reportMatched(state: CaseState, input: Extract<CaseInput, { type: 'report-matched' }>, ctx: CaseContext): Decision {
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  markSeen(s, input.eventId);
  if (!s.reportIds.includes(input.reportId)) s.reportIds.push(input.reportId);
  for (const h of input.hashes) if (!s.hashes.includes(h)) s.hashes.push(h);
  if (!isClosed(s)) {
    s.url ??= input.url;
    s.host ??= input.host;
    s.ip ??= input.ip ?? null;
  }
  if (s.providerId === null && input.providerId !== null) s.providerId = input.providerId;
  d.record('report.matched', {
    reportId: input.reportId,
    providerId: input.providerId,
    url: redactable(input.url),
    host: redactable(input.host),
    ...(input.ip ? { ip: redactable(input.ip) } : {}),
    hashes: input.hashes,
    matches: input.matches,
    receivedAt: input.receivedAt,
    checkedAt: input.checkedAt,
  });
  if (input.reuploadOf && !s.reupload && !isClosed(s)) {
    s.reupload = true;
    s.reuploadOf = input.reuploadOf.caseId;
    d.record('reupload.flagged', { previousCaseId: input.reuploadOf.caseId, hash: input.reuploadOf.hash, startsAtStep: ctx.ladder.steps[ctx.ladder.reuploadStartIndex]?.name ?? null });
  }
  return d.done();
}

function noticeSent(state: CaseState, input: Extract<CaseInput, { type: 'notice-sent' }>, ctx: CaseContext): Decision {
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  markSeen(s, input.eventId);
  if (s.providerId === null) s.providerId = input.providerId;
  if (!s.reportIds.includes(input.reportId)) s.reportIds.push(input.reportId);
  if (s.url === null && !isClosed(s)) s.url = input.url;
  s.notices.push({ noticeId: input.noticeId, sentAt: input.sentAt, deadlineAt: input.noticeDeadlineAt, channel: input.channel, requestId: input.requestId ?? null });
  // Re-notices were counted when requested; a second channel for the same notice is no new attempt.
  s.noticeAttempts = Math.max(s.noticeAttempts, input.attempt ?? 1);
  d.record('notice.sent', {
    noticeId: input.noticeId,
    channel: input.channel,
    contact: redactable(input.contact),
    url: redactable(input.url),
    reportId: input.reportId,
    sentAt: input.sentAt.toISOString(),
    deadlineAt: input.noticeDeadlineAt.toISOString(),
    requestId: input.requestId ?? null,
    attempt: input.attempt ?? null,
    deliveryProof: input.deliveryProof ?? null,
  });
  if (isClosed(s)) return d.done();

  if (s.clockStartedAt === null) {
    const eff = effectiveDeadline(input.noticeDeadlineAt, input.sentAt, ctx.policy);
    s.clockStartedAt = input.sentAt;
    s.initialDeadlineAt = eff.deadlineAt;
    s.deadlineAt = eff.deadlineAt;
    if (s.status === CaseStatus.PENDING) {
      s.status = CaseStatus.OPEN;
      s.dueAt = eff.deadlineAt;
    }
    d.record('clock.started', {
      startedAt: input.sentAt.toISOString(),
      deadlineAt: eff.deadlineAt.toISOString(),
      decidedBy: eff.decidedBy,
      noticeDeadlineAt: input.noticeDeadlineAt.toISOString(),
      policy: { ms: ctx.policy.ms, source: ctx.policy.source, reference: ctx.policy.reference ?? null },
    });
    return d.done();
  }

  // Delivery of a re-notice we asked for: the deadline the provider was actually told is the
  // one to hold them to, if delivery made it later than the one we computed when asking.
  const current = s.steps[s.steps.length - 1];
  if (input.requestId && current && current.requestId === input.requestId && s.deadlineAt && input.noticeDeadlineAt > s.deadlineAt) {
    s.deadlineAt = input.noticeDeadlineAt;
    current.deadlineAt = input.noticeDeadlineAt;
    if (s.status === CaseStatus.OPEN) s.dueAt = input.noticeDeadlineAt;
    d.record('deadline.adjusted', { stepIndex: current.index, deadlineAt: input.noticeDeadlineAt.toISOString(), reason: 'the delivered notice stated a later deadline' });
  }
  return d.done();
}

function timerFired(state: CaseState, ctx: CaseContext): Decision {
  if (state.status !== CaseStatus.OPEN || state.dueAt === null || state.dueAt > ctx.now) return { kind: 'unchanged', reason: 'nothing due' };
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  const next = nextStepIndex(s, ctx);
  const currentName = s.stepIndex < 0 ? 'notice' : ctx.ladder.steps[s.stepIndex]?.name ?? `step-${s.stepIndex}`;
  if (s.deadlineAt !== null && s.deadlineAt <= ctx.now) {
    d.record('deadline.missed', { step: currentName, stepIndex: s.stepIndex, deadlineAt: s.deadlineAt.toISOString(), reupload: s.reupload });
  } else {
    d.record('decision.due', { step: currentName, stepIndex: s.stepIndex, dueAt: s.dueAt!.toISOString() });
  }
  advanceTo(d, next);
  return d.done();
}

/** The ladder step that follows the current one (a re-upload starts further up). */
function nextStepIndex(s: CaseState, ctx: CaseContext): number {
  const next = s.stepIndex + 1;
  return s.reupload && s.stepIndex < 0 ? Math.max(next, ctx.ladder.reuploadStartIndex) : next;
}

/** Moves to ladder step `index`: proposes it to an officer, or issues it straight away. */
function advanceTo(d: Draft, index: number): void {
  const step = d.ctx.ladder.steps[index];
  if (!step) {
    d.s.dueAt = null;
    d.record('ladder.exhausted', { lastStepIndex: d.s.stepIndex, note: 'no further steps configured; the case stays open until removal' });
    return;
  }
  if (step.requiresOfficer) {
    propose(d, index);
    return;
  }
  issue(d, index, SYSTEM, 'deadline passed');
}

/** The case waits (no timer) until a case officer decides on step `index`: issue, skip or defer. */
function propose(d: Draft, index: number, reason?: string): void {
  const s = d.s;
  const step = d.ctx.ladder.steps[index]!;
  s.status = CaseStatus.AWAITING_OFFICER;
  s.pending = { index, name: step.name, proposedAt: d.ctx.now };
  s.dueAt = null;
  d.record('escalation.proposed', { step: step.name, stepIndex: index, awaiting: 'case officer decision', ...(reason ? { reason } : {}) });
}

/**
 * Whether the case is waiting on the delivery of a notice, so that an undeliverable one leaves it
 * with nothing to run against: no notice delivered yet (pending), or the current step asked for a
 * (re-)notice and none answering that request has been delivered. notices.failed carries no
 * requestId, so the failure is not matched to the request; it is not matched by time either, as
 * notification's clock is not enforcement's legal clock (tests accelerate the latter).
 */
function waitsOnDelivery(s: CaseState): boolean {
  if (s.status === CaseStatus.PENDING) return true;
  if (s.status !== CaseStatus.OPEN) return false;
  const current = s.steps[s.steps.length - 1];
  if (!current || current.index !== s.stepIndex || current.requestId === null) return false;
  return !s.notices.some((n) => n.requestId === current.requestId);
}

/**
 * A notice nobody at the provider received: the failure goes into the evidence, and a case that
 * was waiting on that delivery goes to a case officer instead of staying pending for ever (no
 * clock) or climbing the ladder against a notice that never arrived. The officer is offered the
 * step that would follow (issue: e.g. a re-notice once the contact is fixed; skip; defer).
 */
function noticeFailed(state: CaseState, input: Extract<CaseInput, { type: 'notice-failed' }>, ctx: CaseContext): Decision {
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  markSeen(s, input.eventId);
  if (s.providerId === null) s.providerId = input.providerId;
  if (!s.reportIds.includes(input.reportId)) s.reportIds.push(input.reportId);
  if (s.url === null && !isClosed(s)) s.url = input.url;
  d.record('notice.failed', {
    noticeId: input.noticeId,
    channel: input.channel,
    contact: input.contact ? redactable(input.contact) : null,
    url: redactable(input.url),
    reportId: input.reportId,
    failedAt: input.failedAt.toISOString(),
    reason: redactable(input.reason),
    attempt: input.attempt ?? null,
    undeliverable: true,
  });
  // A notice already delivered (or a case closed, disputed or already with an officer): evidence only.
  if (s.notices.some((n) => n.noticeId === input.noticeId) || !waitsOnDelivery(s)) return d.done();
  const next = nextStepIndex(s, ctx);
  if (!ctx.ladder.steps[next]) return d.done();
  propose(d, next, 'notice undeliverable');
  return d.done();
}

/**
 * Issues a step. `note` is an officer's free text: personal data, so it goes into the evidence as
 * a redactable value (retention erases it) and never into the event, which carries `reason`.
 */
function issue(d: Draft, index: number, decidedBy: string, reason: string, note?: string): void {
  const s = d.s;
  const step = d.ctx.ladder.steps[index]!;
  const now = d.ctx.now;
  const deadlineAt = stepDeadline(step, now, d.ctx.policy.ms);
  const providerId = s.providerId ?? 'unknown';
  let requestId: string | null = null;
  if (step.notify && s.providerId) {
    requestId = `${s.id}:step-${index}`;
    s.noticeAttempts += 1;
    const reportId = s.reportIds[0];
    d.emit({
      type: 'notice-requested',
      requestId,
      providerId: s.providerId,
      caseId: s.id,
      item: reportId && s.url ? { reportId, caseKey: s.caseKey, caseId: s.id, url: s.url, deadlineAt } : null,
      reason: index === 0 || step.name === 'renotice' ? 'deadline-passed' : step.name,
      attempt: s.noticeAttempts,
      deadlineAt,
    });
  }
  if (step.penalty) s.penalty = { ...step.penalty, stepIndex: index, orderDate: now, suspendedMs: 0 };
  s.steps.push({ index, name: step.name, issuedAt: now, deadlineAt, decidedBy, requestId });
  s.stepIndex = index;
  s.status = CaseStatus.OPEN;
  s.pending = null;
  s.deadlineAt = deadlineAt;
  s.dueAt = deadlineAt;
  const penalty = step.penalty ? { amountEur: step.penalty.amountEur, periodSeconds: Math.round(step.penalty.periodMs / 1000), capEur: step.penalty.capEur } : undefined;
  d.emit({
    type: 'escalated', stepIndex: index, step: step.name, providerId, decidedBy, decidedAt: now, deadlineAt, reason,
    ...(penalty ? { penalty } : {}),
    ...(step.fineEur !== undefined ? { fineEur: step.fineEur } : {}),
  });
  d.record('escalation.issued', {
    step: step.name, stepIndex: index, decidedBy, reason: note ? redactable(note) : reason, deadlineAt: deadlineAt.toISOString(), requestId,
    penalty: penalty ? { ...penalty, orderDate: now.toISOString(), graceSeconds: Math.round(step.penalty!.graceMs / 1000), partialPeriodCounts: step.penalty!.partialPeriodCounts } : null,
    fineEur: step.fineEur ?? null,
  });
}

/** The first deadline as it stands at `at`, counting a pause still running. */
export function effectiveInitialDeadline(s: CaseState, at: Date): Date | null {
  if (!s.initialDeadlineAt) return null;
  if (s.status === CaseStatus.DISPUTED && s.pausedAt && s.pausedAt < s.initialDeadlineAt) {
    return new Date(s.initialDeadlineAt.getTime() + Math.max(0, at.getTime() - s.pausedAt.getTime()));
  }
  return s.initialDeadlineAt;
}

/** How long the clock has been paused under the penalty order by a dispute still open, up to `until`. */
function openPauseMs(s: CaseState, p: PenaltyRecord, until: Date): number {
  if (!s.pausedAt) return 0;
  return Math.max(0, until.getTime() - Math.max(s.pausedAt.getTime(), p.orderDate.getTime()));
}

/** The penalty accrued up to `until`, not counting paused time: decided disputes and one still open. */
function penaltyUntil(s: CaseState, until: Date): PenaltyAccrual | null {
  if (!s.penalty) return null;
  return penaltyAccrued(effectiveTerms(s.penalty, openPauseMs(s, s.penalty, until)), s.penalty.orderDate, until);
}

function close(d: Draft, outcome: OutcomeValue, extra: Record<string, unknown> = {}): void {
  const s = d.s;
  const now = d.ctx.now;
  let accrued: PenaltyAccrual | null = null;
  if (outcome === Outcome.REMOVED && s.removedAt) {
    s.timeToRemovalMs = s.clockStartedAt ? Math.max(0, s.removedAt.getTime() - s.clockStartedAt.getTime()) : null;
    const deadline = effectiveInitialDeadline(s, s.removedAt);
    s.withinDeadline = deadline ? s.removedAt <= deadline : null;
    accrued = penaltyUntil(s, s.removedAt);
  }
  if (s.pausedAt) {
    // The open pause becomes part of the order's suspension, so the accrual shown later matches.
    if (s.penalty) s.penalty.suspendedMs += openPauseMs(s, s.penalty, s.removedAt ?? now);
    s.pausedMs += Math.max(0, now.getTime() - s.pausedAt.getTime());
    s.pausedAt = null;
  }
  s.status = CaseStatus.CLOSED;
  s.outcome = outcome;
  s.closedAt = now;
  s.dueAt = null;
  s.pending = null;
  s.resumeStatus = null;
  d.record('case.closed', {
    outcome,
    closedAt: now.toISOString(),
    removedAt: s.removedAt?.toISOString() ?? null,
    timeToRemovalMs: s.timeToRemovalMs,
    withinDeadline: s.withinDeadline,
    stepIndex: s.stepIndex,
    penaltyAccrued: accrued,
    ...extra,
  });
  d.emit({ type: 'closed', outcome, providerId: s.providerId ?? 'unknown', closedAt: now, timeToRemovalMs: s.timeToRemovalMs, withinDeadline: s.withinDeadline, reportIds: [...s.reportIds] });
}

function removal(state: CaseState, input: Extract<CaseInput, { type: 'removal' }>, ctx: CaseContext): Decision {
  if (isClosed(state)) return { kind: 'unchanged', reason: `case already closed (${state.outcome})` };
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  markSeen(s, input.eventId);
  // Nobody can remove content in the future, and a removal "before" the notice counts as zero.
  const removedAt = input.removedAt > ctx.now ? ctx.now : input.removedAt;
  s.removedAt = removedAt;
  d.record(input.source === 'provider' ? 'removal.confirmed' : 'removal.observed', {
    by: input.by,
    removedAt: removedAt.toISOString(),
    noticeId: input.noticeId ?? null,
    claimedRemovedAt: input.claimedRemovedAt?.toISOString() ?? null,
    note: input.note ? redactable(input.note) : null,
  });
  close(d, Outcome.REMOVED);
  return d.done();
}

function disputeOpened(state: CaseState, input: Extract<CaseInput, { type: 'dispute-opened' }>, ctx: CaseContext): Decision {
  if (isClosed(state)) return { kind: 'refused', code: 'conflict', message: `case is closed (${state.outcome})` };
  if (state.status === CaseStatus.DISPUTED) return { kind: 'refused', code: 'conflict', message: 'a dispute on this case is already open' };
  if (state.status === CaseStatus.PENDING) return { kind: 'refused', code: 'conflict', message: 'no notice has been sent for this case yet' };
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  s.disputes.push({ id: input.disputeId, noticeId: input.noticeId, openedAt: ctx.now, openedBy: input.by, decision: null, decidedAt: null, decidedBy: null });
  s.resumeStatus = s.status;
  s.status = CaseStatus.DISPUTED;
  s.pausedAt = ctx.now;
  s.dueAt = null;
  d.record('dispute.opened', { disputeId: input.disputeId, noticeId: input.noticeId, by: input.by, reason: redactable(input.reason) });
  d.record('clock.paused', { at: ctx.now.toISOString(), deadlineAt: s.deadlineAt?.toISOString() ?? null });
  return d.done();
}

function disputeDecided(state: CaseState, input: Extract<CaseInput, { type: 'dispute-decided' }>, ctx: CaseContext): Decision {
  const idx = state.disputes.findIndex((x) => x.id === input.disputeId);
  if (idx < 0) return { kind: 'refused', code: 'not-found', message: `no dispute ${input.disputeId} on this case` };
  const existing = state.disputes[idx]!;
  if (existing.decision !== null) {
    return existing.decision === input.decision
      ? { kind: 'unchanged', reason: 'dispute already decided this way' }
      : { kind: 'refused', code: 'conflict', message: `dispute already decided: ${existing.decision}` };
  }
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  const dispute = s.disputes[idx]!;
  dispute.decision = input.decision;
  dispute.decidedAt = ctx.now;
  dispute.decidedBy = input.by;
  d.record('dispute.decided', { disputeId: input.disputeId, decision: input.decision, by: input.by, note: input.note ? redactable(input.note) : null });

  if (input.decision === DisputeDecision.REJECTED) {
    if (s.status === CaseStatus.DISPUTED && s.pausedAt) {
      const paused = Math.max(0, ctx.now.getTime() - s.pausedAt.getTime());
      if (s.initialDeadlineAt && s.pausedAt < s.initialDeadlineAt) s.initialDeadlineAt = new Date(s.initialDeadlineAt.getTime() + paused);
      if (s.deadlineAt) s.deadlineAt = new Date(s.deadlineAt.getTime() + paused);
      if (s.penalty) s.penalty.suspendedMs += openPauseMs(s, s.penalty, ctx.now);
      s.pausedMs += paused;
      s.pausedAt = null;
      s.status = s.resumeStatus ?? CaseStatus.OPEN;
      s.resumeStatus = null;
      s.dueAt = s.status === CaseStatus.OPEN ? s.deadlineAt : null;
      d.record('clock.resumed', { pausedMs: paused, deadlineAt: s.deadlineAt?.toISOString() ?? null, initialDeadlineAt: s.initialDeadlineAt?.toISOString() ?? null });
    }
    return d.done();
  }

  // Upheld as a false positive: hash-check is asked to retract each matched hash (it stays the
  // only writer of the lists), and the case closes. Other open cases on the same hashes are
  // closed by the sweep that the retraction request triggers.
  for (const key of s.hashes) {
    const [hashType, hash] = key.split(':') as [string, string];
    d.emit({ type: 'retraction-requested', requestId: `${input.disputeId}:${hashType}`, hashType, hash, reason: `dispute ${input.disputeId} upheld as a false positive`, requestedBy: input.by, reportId: s.reportIds[0] ?? null });
  }
  if (!isClosed(s)) close(d, Outcome.FALSE_POSITIVE, { disputeId: input.disputeId });
  return d.done();
}

function officerDecision(state: CaseState, input: Extract<CaseInput, { type: 'officer-decision' }>, ctx: CaseContext): Decision {
  if (state.status !== CaseStatus.AWAITING_OFFICER || !state.pending || state.pending.index !== input.stepIndex) {
    const pending = state.pending ? `step ${state.pending.index} (${state.pending.name}) is pending` : 'no step is pending';
    return { kind: 'refused', code: 'conflict', message: `no decision pending for step ${input.stepIndex}: ${pending}, case is ${state.status}` };
  }
  if (input.decision === OfficerDecision.DEFER && (!input.until || input.until <= ctx.now)) {
    return { kind: 'refused', code: 'invalid', message: 'defer needs an `until` in the future' };
  }
  const d = new Draft(clone(state), ctx);
  const s = d.s;
  const pending = s.pending!;
  d.record('officer.decision', { step: pending.name, stepIndex: pending.index, decision: input.decision, officer: input.officer, until: input.until?.toISOString() ?? null, note: input.note ? redactable(input.note) : null });
  switch (input.decision) {
    case OfficerDecision.ISSUE:
      issue(d, pending.index, input.officer, 'decided by case officer', input.note);
      break;
    case OfficerDecision.SKIP:
      s.pending = null;
      s.stepIndex = pending.index;
      s.status = CaseStatus.OPEN;
      advanceTo(d, pending.index + 1);
      break;
    case OfficerDecision.DEFER:
      // The same step is proposed again when the timer fires.
      s.pending = null;
      s.status = CaseStatus.OPEN;
      s.dueAt = input.until!;
      break;
  }
  return d.done();
}

/**
 * Accrued penalty at `at` for a case under an order subject to a penalty. Nothing accrues after
 * the removal, nor after the case closed for any other reason (false positive, withdrawn).
 */
export function accruedPenalty(s: CaseState, at: Date): PenaltyAccrual | null {
  let until = at;
  if (s.removedAt && s.removedAt < until) until = s.removedAt;
  if (isClosed(s) && s.closedAt && s.closedAt < until) until = s.closedAt;
  return penaltyUntil(s, until);
}
