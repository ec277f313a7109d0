import {
  metrics,
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Observable,
  type ObservableGauge,
} from '@opentelemetry/api';
import { Attr } from './attributes';

/**
 * The one registry of metric names HashCheck emits. Instruments are created only from
 * `MetricSpec` below, so every metric has its unit and description, and docs/observability.md
 * lists exactly these names (a test checks both ways).
 */
export const Metric = {
  // every service, per topic and consumer group (libs/kafka)
  MESSAGES_CONSUMED: 'hashcheck.messages.consumed',
  MESSAGES_PROCESSING_DURATION: 'hashcheck.messages.processing.duration',
  MESSAGES_DEADLETTERED: 'hashcheck.messages.deadlettered',
  MESSAGES_PUBLISHED: 'hashcheck.messages.published',
  CONSUMER_LAG: 'hashcheck.consumer.lag',
  REPORTS_REJECTED: 'hashcheck.reports.rejected',
  // hash-check
  CHECK_REQUESTS: 'hashcheck.check.requests',
  CHECK_HASHES: 'hashcheck.check.hashes',
  CHECK_PROBING: 'hashcheck.check.probing.suspected',
  LIST_MATCHES: 'hashcheck.list.matches',
  INDEX_ENTRIES: 'hashcheck.index.entries',
  INDEX_BYTES: 'hashcheck.index.bytes',
  LIST_REVISION: 'hashcheck.list.revision',
  // notification
  NOTICES_SENT: 'hashcheck.notices.sent',
  NOTICES_FAILED: 'hashcheck.notices.failed',
  NOTICES_RETRIED: 'hashcheck.notices.retried',
  NOTICE_DELIVERY_LATENCY: 'hashcheck.notices.delivery.latency',
  NOTICE_ATTEMPT_DURATION: 'hashcheck.notices.attempt.duration',
  // enforcement
  CASES_OPEN: 'hashcheck.cases.open',
  CASE_DEADLINES: 'hashcheck.cases.deadlines',
  CASE_ESCALATIONS: 'hashcheck.cases.escalations',
  CASES_CLOSED: 'hashcheck.cases.closed',
  TIMERS_OVERDUE: 'hashcheck.timers.overdue',
} as const;
export type MetricName = (typeof Metric)[keyof typeof Metric];

export type InstrumentKind = 'counter' | 'histogram' | 'gauge';
type AttrKey = (typeof Attr)[keyof typeof Attr];

export interface MetricSpecEntry {
  kind: InstrumentKind;
  /** UCUM unit, as OpenTelemetry wants it (`s`, `By`, `{message}`). */
  unit: string;
  description: string;
  /** Every attribute the metric may carry; all bounded (no hashes, URLs, report or notice ids). */
  attributes: readonly AttrKey[];
  /** Histogram bucket boundaries (in `unit`). */
  buckets?: readonly number[];
}

/** Seconds, from a millisecond-scale handler to a slow webhook. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds, notice creation to delivery: grouping windows, retries with backoff, e-mail fallback. */
const LATENCY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

const { TOPIC, CONSUMER_GROUP, OUTCOME, PARTITION, REASON, TENANT_ID, CHECK_API, HASH_TYPE, LIST_ID, CHANNEL, NOTICE_KIND, CASE_STATUS, STEP } = Attr;

export const MetricSpec: Record<MetricName, MetricSpecEntry> = {
  [Metric.MESSAGES_CONSUMED]: { kind: 'counter', unit: '{message}', description: 'Messages consumed, by topic, consumer group and outcome (processed, skipped, retried, deadlettered)', attributes: [TOPIC, CONSUMER_GROUP, OUTCOME] },
  [Metric.MESSAGES_PROCESSING_DURATION]: { kind: 'histogram', unit: 's', description: 'Time to process one consumed message, by topic, consumer group and outcome', attributes: [TOPIC, CONSUMER_GROUP, OUTCOME], buckets: DURATION_BUCKETS },
  [Metric.MESSAGES_DEADLETTERED]: { kind: 'counter', unit: '{message}', description: 'Messages sent to the dead-letter topic, by the topic and group they came from', attributes: [TOPIC, CONSUMER_GROUP, OUTCOME] },
  [Metric.MESSAGES_PUBLISHED]: { kind: 'counter', unit: '{message}', description: 'Events published, by topic', attributes: [TOPIC] },
  [Metric.CONSUMER_LAG]: { kind: 'gauge', unit: '{message}', description: 'Messages not yet processed (end offset minus committed offset), per consumer group, topic and partition', attributes: [CONSUMER_GROUP, TOPIC, PARTITION] },
  [Metric.REPORTS_REJECTED]: { kind: 'counter', unit: '{report}', description: 'Reports refused by intake, by reason code', attributes: [REASON] },

  [Metric.CHECK_REQUESTS]: { kind: 'counter', unit: '{request}', description: 'Check requests answered, per tenant and API (bulk, eokm; report = the report pipeline, one per report)', attributes: [TENANT_ID, CHECK_API] },
  [Metric.CHECK_HASHES]: { kind: 'counter', unit: '{hash}', description: 'Hashes checked, per tenant, API and outcome (matched, unmatched, invalid)', attributes: [TENANT_ID, CHECK_API, OUTCOME] },
  [Metric.CHECK_PROBING]: { kind: 'counter', unit: '{signal}', description: 'Probing signals: a tenant checked many near-duplicate PDQ hashes (pdq-sweep) or many matches just inside a threshold (pdq-boundary); by tenant and reason', attributes: [TENANT_ID, REASON] },
  [Metric.LIST_MATCHES]: { kind: 'counter', unit: '{match}', description: 'Hashes that matched a list, per list, hash type and API', attributes: [LIST_ID, HASH_TYPE, CHECK_API] },
  [Metric.INDEX_ENTRIES]: { kind: 'gauge', unit: '{hash}', description: 'Hashes in the in-memory index, per list and hash type', attributes: [LIST_ID, HASH_TYPE] },
  [Metric.INDEX_BYTES]: { kind: 'gauge', unit: 'By', description: 'Memory held by the in-memory index, per hash type', attributes: [HASH_TYPE] },
  [Metric.LIST_REVISION]: { kind: 'gauge', unit: '{revision}', description: 'Revision of each list this instance has loaded (compare across instances and with the database)', attributes: [LIST_ID] },

  [Metric.NOTICES_SENT]: { kind: 'counter', unit: '{notice}', description: 'Notices delivered (webhook answered 2xx, or the SMTP server accepted the mail), per channel and kind', attributes: [CHANNEL, NOTICE_KIND] },
  [Metric.NOTICES_FAILED]: { kind: 'counter', unit: '{notice}', description: 'Channels given up for a notice: fallback = the next channel is tried, undeliverable = no channel left', attributes: [CHANNEL, OUTCOME] },
  [Metric.NOTICES_RETRIED]: { kind: 'counter', unit: '{attempt}', description: 'Failed delivery attempts scheduled again on the same channel (with backoff)', attributes: [CHANNEL] },
  [Metric.NOTICE_DELIVERY_LATENCY]: { kind: 'histogram', unit: 's', description: 'From the notice being created (its grouping window closed) to its delivery, per channel and kind', attributes: [CHANNEL, NOTICE_KIND], buckets: LATENCY_BUCKETS },
  [Metric.NOTICE_ATTEMPT_DURATION]: { kind: 'histogram', unit: 's', description: 'Duration of one delivery attempt (HTTP request or SMTP transaction), per channel and outcome', attributes: [CHANNEL, OUTCOME], buckets: DURATION_BUCKETS },

  [Metric.CASES_OPEN]: { kind: 'gauge', unit: '{case}', description: 'Cases not closed, per status (pending, open, disputed, awaiting-officer); a count refreshed at most every METRICS_REFRESH_MS, while metrics are collected', attributes: [CASE_STATUS] },
  [Metric.CASE_DEADLINES]: { kind: 'counter', unit: '{deadline}', description: 'Deadlines that ended: met = content removed before it, missed = it passed with the content still up; per ladder step (notice = the first notice)', attributes: [STEP, OUTCOME] },
  [Metric.CASE_ESCALATIONS]: { kind: 'counter', unit: '{escalation}', description: 'Escalation steps, per step: issued, or proposed to a case officer', attributes: [STEP, OUTCOME] },
  [Metric.CASES_CLOSED]: { kind: 'counter', unit: '{case}', description: 'Cases closed, per outcome (removed, false-positive, withdrawn)', attributes: [OUTCOME] },
  [Metric.TIMERS_OVERDUE]: { kind: 'gauge', unit: '{timer}', description: 'Case timers past their due time and not yet fired (should stay near zero)', attributes: [] },
};

const METER = 'hashcheck';

function options(name: MetricName) {
  const s = MetricSpec[name];
  return {
    description: s.description,
    unit: s.unit,
    valueType: s.kind === 'histogram' ? ValueType.DOUBLE : ValueType.INT,
    ...(s.buckets ? { advice: { explicitBucketBoundaries: [...s.buckets] } } : {}),
  };
}

function check(name: MetricName, kind: InstrumentKind): void {
  const s = MetricSpec[name];
  if (s.kind !== kind) throw new Error(`metric ${name} is a ${s.kind}, not a ${kind}`);
}

/** A counter as registered in MetricSpec (name, unit, description); throws if `name` is not a counter. */
export function counter(meter: Meter, name: MetricName): Counter {
  check(name, 'counter');
  return meter.createCounter(name, options(name));
}

/** A histogram as registered, with the registry's bucket boundaries. */
export function histogram(meter: Meter, name: MetricName): Histogram {
  check(name, 'histogram');
  return meter.createHistogram(name, options(name));
}

/** An observable gauge as registered; the caller adds (and on close removes) its callback. */
export function gauge(meter: Meter, name: MetricName): ObservableGauge {
  check(name, 'gauge');
  return meter.createObservableGauge(name, options(name));
}

/**
 * Instruments made on first use and made again when the global MeterProvider changes: the API
 * has no proxy for metrics, so instruments created before the SDK starts would stay no-ops.
 */
export function lazyInstruments<T>(create: (meter: Meter) => T): () => T {
  let provider: MeterProvider | undefined;
  let made: T | undefined;
  return () => {
    const p = metrics.getMeterProvider();
    if (made === undefined || p !== provider) {
      provider = p;
      made = create(p.getMeter(METER));
    }
    return made;
  };
}

const pipeline = lazyInstruments((m) => ({
  consumed: counter(m, Metric.MESSAGES_CONSUMED),
  duration: histogram(m, Metric.MESSAGES_PROCESSING_DURATION),
  deadLettered: counter(m, Metric.MESSAGES_DEADLETTERED),
  rejected: counter(m, Metric.REPORTS_REJECTED),
  published: counter(m, Metric.MESSAGES_PUBLISHED),
}));

export function recordConsumed(topic: string, group: string, outcome: string, durationMs: number): void {
  const attrs: Attributes = { [Attr.TOPIC]: topic, [Attr.CONSUMER_GROUP]: group, [Attr.OUTCOME]: outcome };
  const i = pipeline();
  i.consumed.add(1, attrs);
  i.duration.record(durationMs / 1000, attrs);
  if (outcome === 'deadlettered') i.deadLettered.add(1, attrs);
}

/** A message a consumer dead-lettered by itself (not through the shared consumer's outcome). */
export function recordDeadLettered(topic: string, group: string): void {
  pipeline().deadLettered.add(1, { [Attr.TOPIC]: topic, [Attr.CONSUMER_GROUP]: group, [Attr.OUTCOME]: 'deadlettered' });
}

export function recordPublished(topic: string, count: number): void {
  pipeline().published.add(count, { [Attr.TOPIC]: topic });
}

export function recordRejected(reason: string, count = 1): void {
  pipeline().rejected.add(count, { [Attr.REASON]: reason });
}

/** Service-specific instruments share the one meter. */
export function hashcheckMeter(): Meter {
  return metrics.getMeter(METER);
}

export interface Observation {
  value: number;
  attributes: Attributes;
}

/**
 * Observable gauges whose values come from the database: a collection observes the last values
 * and, when they are older than `maxAgeMs`, starts one refresh in the background. A scrape never
 * waits on the database (a slow count would stall every metric), the database is asked at most
 * once per `maxAgeMs` and only while something collects metrics; a value lags by one collection.
 */
export class CachedObservations {
  #values = new Map<ObservableGauge, Observation[]>();
  #at = 0;
  #running: Promise<void> | undefined;
  #gauges: ObservableGauge[] = [];
  #callback: ((r: BatchObservableResult) => void) | undefined;
  #meter: Meter | undefined;
  #closed = false;

  constructor(
    private readonly load: () => Promise<Map<ObservableGauge, Observation[]>>,
    private readonly maxAgeMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Registers the batch callback for `gauges` (made on the current global meter). */
  observe(meter: Meter, gauges: ObservableGauge[]): void {
    this.#meter = meter;
    this.#gauges = gauges;
    this.#callback = (result) => {
      for (const [g, obs] of this.#values) for (const o of obs) result.observe(g, o.value, o.attributes);
      if (!this.#closed && Date.now() - this.#at >= this.maxAgeMs) void this.refresh();
    };
    meter.addBatchObservableCallback(this.#callback, gauges as Observable[]);
  }

  /** Reloads the values now (one load at a time). */
  refresh(): Promise<void> {
    this.#running ??= this.load()
      .then((values) => {
        this.#values = values;
        this.#at = Date.now();
      })
      .catch((err: unknown) => {
        this.#at = Date.now();
        this.onError(err);
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Stops observing; waits for a refresh in flight (it may be using a connection about to close). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#meter && this.#callback) this.#meter.removeBatchObservableCallback(this.#callback, this.#gauges as Observable[]);
    await this.#running;
  }
}

export type { BatchObservableResult, Counter, Histogram, Meter, Observable, ObservableGauge };
