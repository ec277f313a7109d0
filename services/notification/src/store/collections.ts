import type { CasesClosedData } from '@hashcheck/events';
import type { CollectionIndexes } from '@hashcheck/mongo';
import { OUTBOX_INDEX, type WithOutbox } from '@hashcheck/mongo';
import { LEASE_INDEXES } from './leases';
import type { ChannelValue } from '../domain/delivery';
import type { ItemKindValue } from '../domain/grouping';
import type { DigestChoiceValue, VictimCaseStatusValue } from '../domain/victim';
import type { DigestCounts, LanguageValue } from '../domain/templates';

export const Collections = {
  ITEMS: 'notice_items',
  NOTICES: 'notices',
  /** Notice ids whose items carry the id (see NoticeSealer). */
  MARKS: 'notice_marks',
  /** One immutable document per recorded step of a notice, carrying the events it emits. */
  STEPS: 'notice_steps',
  PAYLOADS: 'notice_payloads',
  VICTIM_SERIES: 'victim_series',
  VICTIM_CASES: 'victim_cases',
  VICTIM_DIGESTS: 'victim_digests',
  /** Cases closed by enforcement (one insert per case): the sender drops them from unsent notices. */
  CLOSED_CASES: 'closed_cases',
} as const;

/** Marks items that will never be sent (their case closed before the window ended). */
export const CANCELLED = 'cancelled';

/** One thing to notify about: one case in an initial notice, or one case in one re-notice request. */
export interface ItemDocument {
  /** The deterministic item key: the idempotency guard against redelivery and replay. */
  _id: string;
  groupKey: string;
  kind: ItemKindValue;
  providerId: string | null;
  reportId: string;
  caseKey: string;
  caseId?: string;
  url: string;
  requestId?: string;
  reason?: string;
  attempt?: number;
  /** A re-notice's deadline, as enforcement decided it. */
  fixedDeadlineAt?: Date;
  receivedAt: Date;
  dueAt: Date;
  /** null while waiting in its window; then the notice id, or CANCELLED. */
  noticeId: string | null;
  assignedAt?: Date;
  sourceEventId: string;
  /** Trace context of the event that brought the item, so its delivery continues that trace. */
  trace?: Record<string, string>;
}


/** `cancelled`: every case of the notice closed before it was delivered; nothing was sent and no event emitted. */
export const NoticeState = { PENDING: 'pending', SENT: 'sent', UNDELIVERABLE: 'undeliverable', CANCELLED: 'cancelled' } as const;
export type NoticeStateValue = (typeof NoticeState)[keyof typeof NoticeState];

export interface NoticeItemRecord {
  key: string;
  trace?: Record<string, string>;
  reportId: string;
  caseKey: string;
  caseId?: string;
  url: string;
  fixedDeadlineAt?: Date;
  /** Set when sent: the deadline stated in the delivered notice. */
  deadlineAt?: Date;
}

/** An item taken out of an unsent notice because its case closed (see ClosedCaseDocument). */
export interface DroppedItemRecord extends NoticeItemRecord {
  closedOutcome: CasesClosedData['outcome'];
  droppedAt: Date;
}

/**
 * A case enforcement closed, inserted once under the case id (a redelivered or replayed
 * `cases.closed` fails on the duplicate key). Before every delivery attempt the sender drops the
 * items of such cases from the notice, so a notice sealed before the closure (or in retries when it
 * came) does not tell a provider about a false positive, a withdrawn report or removed content.
 */
export interface ClosedCaseDocument {
  /** The case id. */
  _id: string;
  outcome: CasesClosedData['outcome'];
  providerId: string;
  closedAt?: Date;
  recordedAt: Date;
}

/** Proof of one delivery attempt, kept whatever its outcome. */
export interface AttemptRecord {
  n: number;
  channel: ChannelValue;
  /** Webhook URL or the e-mail recipients. */
  target: string;
  startedAt: Date;
  finishedAt: Date;
  outcome: 'delivered' | 'failed';
  /** sha256 of the exact bytes sent (webhook body, or the whole RFC 5322 message); bytes in notice_payloads. */
  payloadSha256?: string;
  payloadBytes?: number;
  httpStatus?: number;
  /** X-Request-Id or similar the receiver answered with. */
  receipt?: string;
  responseSha256?: string;
  responseSnippet?: string;
  smtpResponse?: string;
  smtpCode?: number;
  messageId?: string;
  accepted?: string[];
  rejected?: string[];
  error?: string;
  retriable?: boolean;
}

export interface FailureRecord {
  channel: ChannelValue;
  reason: string;
  at: Date;
  final: boolean;
  undeliverable: boolean;
}

export interface NoticeDocument {
  _id: string;
  /** Steps recorded so far; step n+1 is `notice_steps` `<id>#<n+1>`, and only a lease holder writes it. */
  version: number;
  groupKey: string;
  kind: ItemKindValue;
  providerId: string | null;
  requestId?: string;
  reason?: string;
  requestAttempt?: number;
  items: NoticeItemRecord[];
  state: NoticeStateValue;
  createdAt: Date;
  updatedAt: Date;
  nextAttemptAt: Date | null;
  channel: ChannelValue | null;
  channelAttempts: number;
  lookupAttempts: number;
  givenUp: ChannelValue[];
  attempts: AttemptRecord[];
  failures: FailureRecord[];
  sentAt?: Date;
  deliveredVia?: ChannelValue;
  contact?: string;
  undeliverableReason?: string;
  /** Items dropped before delivery because their case closed; with none left the notice is cancelled. */
  droppedItems?: DroppedItemRecord[];
  cancelledReason?: string;
}

/**
 * The outcome of one step (an attempt, a provider lookup, a give-up), inserted once with a unique
 * id, with the events it causes in its embedded outbox. The notice document is then brought up to
 * date from it; if that second write is lost (crash), the next lease holder applies the step
 * instead of sending again.
 */
export interface StepDocument extends WithOutbox {
  _id: string;
  noticeId: string;
  seq: number;
  at: Date;
  attempt?: AttemptRecord;
  failures: FailureRecord[];
  set: Partial<NoticeDocument>;
}

export interface PayloadDocument {
  /**
   * `<noticeId>#<attempt n>#<sha256>`, inserted once, never replaced (documents written before
   * were `<noticeId>#<attempt n>`): a try whose attempt was never recorded (the sender stopped
   * after sending) keeps its bytes next to the recorded try with the same n. Read by
   * `{ noticeId, n, sha256 }` with the hash from the attempt record.
   */
  _id: string;
  noticeId: string;
  n: number;
  contentType: string;
  sha256: string;
  bytes: Buffer;
  createdAt: Date;
}

export interface VictimSeriesDocument {
  _id: string;
  intermediary: { email: string; name?: string };
  reference?: string;
  choice: DigestChoiceValue;
  delayMs: number;
  language: LanguageValue;
  createdAt: Date;
  updatedAt: Date;
  /** The only field two writers share (events and the digest worker); both re-check it, see DigestSender. */
  nextDigestAt: Date | null;
}

export interface VictimCaseDocument {
  _id: string;
  seriesId: string;
  caseId: string;
  status: VictimCaseStatusValue;
  foundAt: Date;
  notifiedAt?: Date;
  removedAt?: Date;
  closedAt?: Date;
}

/**
 * The digest history is the source of "since the previous digest" and of the digest sequence, not
 * counters on the series document, which FerretDB could lose to a concurrent update.
 */
export interface VictimDigestDocument {
  _id: string;
  seriesId: string;
  seq: number;
  /** The counts are as of this moment; the next digest counts changes after it. */
  until: Date;
  dueAt: Date;
  createdAt: Date;
  counts: DigestCounts;
  state: 'sent' | 'failed';
  /** Set with the last attempt of a digest given up; the next digest then takes the next `seq`. */
  givenUpAt?: Date;
  attempts: AttemptRecord[];
}

export const INDEXES: CollectionIndexes[] = [
  {
    collection: Collections.ITEMS,
    indexes: [
      { key: { noticeId: 1, dueAt: 1 }, name: 'waiting_due' },
      { key: { groupKey: 1, noticeId: 1, receivedAt: 1 }, name: 'group_waiting' },
      { key: { caseId: 1 }, name: 'by_case' },
    ],
  },
  { collection: Collections.STEPS, indexes: [{ key: { noticeId: 1, seq: 1 }, name: 'by_notice' }, OUTBOX_INDEX] },
  LEASE_INDEXES,
  {
    collection: Collections.NOTICES,
    indexes: [
      { key: { state: 1, nextAttemptAt: 1 }, name: 'due' },
      { key: { 'items.caseId': 1 }, name: 'by_case' },
      { key: { 'droppedItems.caseId': 1 }, name: 'by_dropped_case' },
      { key: { providerId: 1, createdAt: -1 }, name: 'by_provider' },
      { key: { groupKey: 1, createdAt: -1 }, name: 'by_group' },
      { key: { requestId: 1 }, name: 'by_request' },
    ],
  },
  { collection: Collections.PAYLOADS, indexes: [{ key: { noticeId: 1, n: 1 }, name: 'by_notice' }] },
  { collection: Collections.VICTIM_SERIES, indexes: [{ key: { nextDigestAt: 1 }, name: 'digest_due' }] },
  {
    collection: Collections.VICTIM_CASES,
    indexes: [
      { key: { caseId: 1 }, name: 'by_case' },
      { key: { seriesId: 1, status: 1 }, name: 'by_series_status' },
    ],
  },
  { collection: Collections.VICTIM_DIGESTS, indexes: [{ key: { seriesId: 1, state: 1, until: -1 }, name: 'by_series' }] },
];
