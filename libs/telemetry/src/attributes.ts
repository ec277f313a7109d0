/**
 * The one registry of span and metric attribute names HashCheck sets. Never put content hashes or
 * clear-text URLs in an attribute: identifiers only (URLs only as hosts, and only when configured).
 */
export const Attr = {
  REPORT_ID: 'hashcheck.report.id',
  /** `kafka` (partner topic) or `http` (hotline API). */
  REPORT_CHANNEL: 'hashcheck.report.channel',
  CASE_KEY: 'hashcheck.case.key',
  CASE_ID: 'hashcheck.case.id',
  PROVIDER_ID: 'hashcheck.provider.id',
  /** How the provider was found: `domain` or `ip`. */
  RESOLVED_BY: 'hashcheck.provider.resolved_by',
  LIST_ID: 'hashcheck.list.id',
  /** Every list a report matched (string array, sorted, de-duplicated). */
  LIST_IDS: 'hashcheck.list.ids',
  NOTICE_ID: 'hashcheck.notice.id',
  /** How many reports (items) one notice groups. */
  ITEM_COUNT: 'hashcheck.notice.items',
  TENANT_ID: 'hashcheck.tenant.id',
  EVENT_ID: 'hashcheck.event.id',
  EVENT_TYPE: 'hashcheck.event.type',
  HASH_TYPE: 'hashcheck.hash.type',
  MATCH_COUNT: 'hashcheck.match.count',
  CHANNEL: 'hashcheck.notice.channel',
  ATTEMPT: 'hashcheck.attempt',
  STEP: 'hashcheck.escalation.step',
  /** The escalation step's place on the ladder (0 = first step after the notice). */
  STEP_INDEX: 'hashcheck.escalation.step_index',
  OUTCOME: 'hashcheck.outcome',
  /**
   * Trace ids of a span's links. Zipkin's span model has no links (its exporter drops them), so
   * the linked traces are also named here, where the Zipkin UI shows them as a tag.
   */
  LINKED_TRACE_IDS: 'hashcheck.link.trace_ids',
  TOPIC: 'messaging.destination.name',
  CONSUMER_GROUP: 'messaging.consumer.group.name',
  PARTITION: 'messaging.destination.partition.id',
  /** Metric attributes (bounded values only): */
  REASON: 'hashcheck.reason',
  CHECK_API: 'hashcheck.check.api',
  NOTICE_KIND: 'hashcheck.notice.kind',
  CASE_STATUS: 'hashcheck.case.status',
} as const;

/** The domain steps that get their own span. */
export const Step = {
  VALIDATE: 'hashcheck.validate',
  RESOLVE_PROVIDER: 'hashcheck.resolve_provider',
  STORE_REPORT: 'hashcheck.store_report',
  MATCH: 'hashcheck.match',
  GROUP_NOTICE: 'hashcheck.group_notice',
  DELIVER: 'hashcheck.deliver',
  START_CLOCK: 'hashcheck.start_clock',
  DEADLINE: 'hashcheck.deadline',
  ESCALATE: 'hashcheck.escalate',
  CLOSE_CASE: 'hashcheck.close_case',
} as const;
