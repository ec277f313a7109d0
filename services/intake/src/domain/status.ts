import type { MatchValue } from '@hashcheck/events';

/** A match as intake keeps and shows it. */
export type KeptMatch = Omit<MatchValue, 'seriesId'>;

/**
 * A match without its victim series: which series a report belongs to is notification's to know
 * (opt-in victim notification), not something every hotline key may read from a report's status.
 */
export function withoutSeries(m: MatchValue | KeptMatch): KeptMatch {
  const { seriesId: _seriesId, ...kept } = m as MatchValue;
  return kept;
}

/** Where one report is in the pipeline, as intake has learnt it from the other services' events. */
export interface PipelineStatus {
  accepted: { at: string; published: boolean };
  check: { state: 'pending' | 'matched' | 'unmatched'; checkedAt?: string; matches: KeptMatch[] };
  notices: Array<{ noticeId: string; channel: string; sentAt: string; deadlineAt: string }>;
  case: {
    caseId: string;
    state: 'open' | 'notified' | 'escalated' | 'closed';
    escalations: Array<{ step: string; stepIndex: number; at: string }>;
    outcome?: string;
    closedAt?: string;
    withinDeadline?: boolean;
    timeToRemovalSeconds?: number;
  };
}

export interface StatusInput {
  receivedAt: Date;
  caseId: string;
  pendingEvents: number;
  check?: { matched: boolean; matches: Array<MatchValue | KeptMatch>; checkedAt: string };
  notices: Array<{ noticeId: string; channel: string; sentAt: string; deadlineAt: string }>;
  escalations: Array<{ step: string; stepIndex: number; at: string }>;
  closed?: { outcome: string; closedAt: string; withinDeadline?: boolean; timeToRemovalSeconds?: number };
}

/**
 * Events from different topics arrive in any order (and again on a replay), so the state is derived
 * from everything recorded rather than moved step by step: closed beats escalated beats notified.
 */
export function pipelineStatus(input: StatusInput): PipelineStatus {
  const escalations = [...input.escalations].sort((a, b) => a.stepIndex - b.stepIndex);
  const notices = [...input.notices].sort((a, b) => a.sentAt.localeCompare(b.sentAt)).map(({ noticeId, channel, sentAt, deadlineAt }) => ({ noticeId, channel, sentAt, deadlineAt }));
  const state = input.closed ? 'closed' : escalations.length > 0 ? 'escalated' : notices.length > 0 ? 'notified' : 'open';
  const status: PipelineStatus = {
    accepted: { at: input.receivedAt.toISOString(), published: input.pendingEvents === 0 },
    check: input.check
      // Checks stored before intake dropped the series on receipt may still hold it.
      ? { state: input.check.matched ? 'matched' : 'unmatched', checkedAt: input.check.checkedAt, matches: input.check.matches.map(withoutSeries) }
      : { state: 'pending', matches: [] },
    notices,
    case: { caseId: input.caseId, state, escalations },
  };
  if (input.closed) {
    status.case.outcome = input.closed.outcome;
    status.case.closedAt = input.closed.closedAt;
    if (input.closed.withinDeadline !== undefined) status.case.withinDeadline = input.closed.withinDeadline;
    if (input.closed.timeToRemovalSeconds !== undefined) status.case.timeToRemovalSeconds = input.closed.timeToRemovalSeconds;
  }
  return status;
}
