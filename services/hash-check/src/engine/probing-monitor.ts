import type { Collection, Db } from 'mongodb';
import { parseHash } from '@hashcheck/hash-index';
import { Attr, counter, lazyInstruments, Metric } from '@hashcheck/telemetry';
import type { PublicMatch } from '../domain/bulk-check';
import { ProbingDetector } from '../domain/probing';
import type { ProbingConfig, ProbingSignal } from '../domain/probing';
import { Collections } from '../store/collections';
import type { CollectionIndexes } from '@hashcheck/mongo';

/** The counter an operator alerts on (any increase): one per signal, by tenant and reason. */
export const PROBING_METRIC = Metric.CHECK_PROBING;

const instruments = lazyInstruments((m) => ({
  // Name, unit and description from the registry (MetricSpec in @hashcheck/telemetry).
  suspected: counter(m, PROBING_METRIC),
}));

export interface ProbingAuditDoc {
  tenantId: string;
  at: Date;
  reason: ProbingSignal['reason'];
  count: number;
  windowMs: number;
  minDistance: number;
  /** bulk or eokm */
  channel: string;
}

export const PROBING_INDEXES: CollectionIndexes[] = [{ collection: Collections.AUDIT_PROBING, indexes: [{ key: { tenantId: 1, at: -1 }, name: 'by_tenant_time' }, { key: { at: -1 }, name: 'by_time' }] }];

interface MonitorLogger {
  warn: (o: object, m: string) => void;
  error: (o: object, m: string) => void;
}

/** A PDQ query as the check path saw it: the hex and what it matched. */
export interface PdqObservation {
  hash: string;
  matches: readonly PublicMatch[];
}

/**
 * Feeds the check path's PDQ queries into the probing detector, bounded per request, and turns a
 * signal into a warn log line, an audit record (`audit_probing`) and a counter increment. Never
 * blocks or fails a check: the audit insert runs in the background.
 */
export class ProbingMonitor {
  readonly detector: ProbingDetector;
  readonly audit: Collection<ProbingAuditDoc>;
  private readonly words = new Uint32Array(8);
  private pendingWrites = new Set<Promise<unknown>>();

  constructor(
    db: Db,
    private readonly log: MonitorLogger,
    private readonly thresholdOf: (listId: string) => number | undefined,
    /** PDQ queries of one request looked at (the first ones): bounds the cost of a 10,000-item request. */
    readonly maxPerRequest: number,
    config: Partial<ProbingConfig> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.detector = new ProbingDetector(config);
    this.audit = db.collection<ProbingAuditDoc>(Collections.AUDIT_PROBING);
  }

  observe(tenantId: string, channel: 'bulk' | 'eokm', queries: readonly PdqObservation[]): ProbingSignal[] {
    const fired: ProbingSignal[] = [];
    const t = this.now();
    const n = Math.min(queries.length, this.maxPerRequest);
    for (let i = 0; i < n; i++) {
      const q = queries[i] as PdqObservation;
      if (!parseHash('pdq', q.hash, this.words)) continue;
      const matches = q.matches.map((m) => ({ distance: m.distance, threshold: this.thresholdOf(m.list) ?? 31 }));
      for (const s of this.detector.observePdq(tenantId, this.words, 0, matches, t)) fired.push(s);
    }
    for (const s of fired) this.raise(s, channel);
    return fired;
  }

  private raise(s: ProbingSignal, channel: string): void {
    this.log.warn({ tenantId: s.tenantId, reason: s.reason, count: s.count, windowMs: s.windowMs, minDistance: s.minDistance, channel, event: 'probing-suspected' }, 'probing suspected: a tenant is checking near-duplicate PDQ hashes');
    instruments().suspected.add(1, { [Attr.TENANT_ID]: s.tenantId, [Attr.REASON]: s.reason });
    const doc: ProbingAuditDoc = { tenantId: s.tenantId, at: s.at, reason: s.reason, count: s.count, windowMs: s.windowMs, minDistance: s.minDistance, channel };
    const p = this.audit.insertOne(doc).catch((err: unknown) => this.log.error({ err, tenantId: s.tenantId, reason: s.reason }, 'probing audit record not written'));
    this.pendingWrites.add(p);
    void p.finally(() => this.pendingWrites.delete(p));
  }

  /** Waits for audit writes in flight (on shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pendingWrites]);
  }

  recent(filter: { tenantId?: string | undefined }, limit: number): Promise<ProbingAuditDoc[]> {
    return this.audit
      .find(filter.tenantId ? { tenantId: filter.tenantId } : {}, { projection: { _id: 0 } })
      .sort({ at: -1 })
      .limit(limit)
      .toArray();
  }
}
