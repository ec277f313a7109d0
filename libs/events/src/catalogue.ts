/**
 * Every event type the system exchanges, registered in `registry` by importing this module (the
 * package entry does). Consumers import the typed definitions from here through @hashcheck/events.
 */
export * from './schemas/common';
export * from './schemas/notice-item';
export * from './schemas/reports-submitted';
export * from './schemas/reports-accepted';
export * from './schemas/reports-rejected';
export * from './schemas/reports-matched';
export * from './schemas/reports-unmatched';
export * from './schemas/notices-requested';
export * from './schemas/notices-sent';
export * from './schemas/notices-failed';
export * from './schemas/removals-reported';
export * from './schemas/enforcement-escalated';
export * from './schemas/cases-closed';
export * from './schemas/providers-state';
export * from './schemas/hashes-changes';
export * from './schemas/hashes-retraction-requested';

import { ReportsSubmitted } from './schemas/reports-submitted';
import { ReportsAccepted } from './schemas/reports-accepted';
import { ReportsRejected } from './schemas/reports-rejected';
import { ReportsMatched } from './schemas/reports-matched';
import { ReportsUnmatched } from './schemas/reports-unmatched';
import { NoticesRequested } from './schemas/notices-requested';
import { NoticesSent } from './schemas/notices-sent';
import { NoticesFailed } from './schemas/notices-failed';
import { RemovalsReported } from './schemas/removals-reported';
import { EnforcementEscalated } from './schemas/enforcement-escalated';
import { CasesClosed } from './schemas/cases-closed';
import { ProvidersState } from './schemas/providers-state';
import { HashesChanges } from './schemas/hashes-changes';
import { HashesRetractionRequested } from './schemas/hashes-retraction-requested';

/** The catalogue by short name, for code that iterates over every event (docs, tests). */
export const Events = {
  ReportsSubmitted,
  ReportsAccepted,
  ReportsRejected,
  ReportsMatched,
  ReportsUnmatched,
  NoticesRequested,
  NoticesSent,
  NoticesFailed,
  RemovalsReported,
  EnforcementEscalated,
  CasesClosed,
  ProvidersState,
  HashesChanges,
  HashesRetractionRequested,
} as const;

export { asyncApiDocument, messageKey, PARTNER_PUBLISHED, type AsyncApiOptions } from './schemas/asyncapi';
