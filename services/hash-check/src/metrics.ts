import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { EventEnvelope, HashesValue, ReportsAcceptedData } from '@hashcheck/events';
import { HASH_TYPES } from '@hashcheck/hash-index';
import { Attr, counter, gauge, hashcheckMeter, lazyInstruments, Metric, type BatchObservableResult, type Observable } from '@hashcheck/telemetry';
import { PIPELINE_TENANT } from './consumers/handlers';
import type { MatchTally } from './domain/bulk-check';
import type { ListEngine, ReportMatch } from './engine/list-engine';
import { ReportCheckStore, type CheckOutcome } from './store/reports';

/** Which API a check came through (`report` = the report pipeline, under its own tenant). */
export const CheckApi = { BULK: 'bulk', EOKM: 'eokm', REPORT: 'report' } as const;
export type CheckApiValue = (typeof CheckApi)[keyof typeof CheckApi];

const instruments = lazyInstruments((m) => ({
  requests: counter(m, Metric.CHECK_REQUESTS),
  hashes: counter(m, Metric.CHECK_HASHES),
  matches: counter(m, Metric.LIST_MATCHES),
}));

/**
 * One answered check request: hashes per outcome under the tenant, and matches per list. Tenant
 * and list ids only (bounded); never the hashes.
 */
export function recordChecks(tenantId: string, api: CheckApiValue, c: { queries: number; matches: number; invalid: number }, matched: readonly MatchTally[]): void {
  const i = instruments();
  const who = { [Attr.TENANT_ID]: tenantId, [Attr.CHECK_API]: api };
  i.requests.add(1, who);
  if (c.matches > 0) i.hashes.add(c.matches, { ...who, [Attr.OUTCOME]: 'matched' });
  if (c.queries - c.matches > 0) i.hashes.add(c.queries - c.matches, { ...who, [Attr.OUTCOME]: 'unmatched' });
  if (c.invalid > 0) i.hashes.add(c.invalid, { ...who, [Attr.OUTCOME]: 'invalid' });
  for (const t of matched) i.matches.add(t.count, { [Attr.LIST_ID]: t.list, [Attr.HASH_TYPE]: t.type, [Attr.CHECK_API]: api });
}

/** One accepted report checked for the first time (redeliveries are not counted). */
export function recordReportCheck(tenantId: string, hashes: HashesValue, matches: readonly ReportMatch[]): void {
  const queries = HASH_TYPES.filter((t) => hashes[t] !== undefined).length;
  const matchedTypes = new Set(matches.map((m) => m.hashType)).size;
  const tallies = new Map<string, MatchTally>();
  for (const m of matches) {
    const k = `${m.hashType}\u0000${m.listId}`;
    if (!tallies.has(k)) tallies.set(k, { type: m.hashType, list: m.listId, count: 1 });
  }
  recordChecks(tenantId, CheckApi.REPORT, { queries, matches: matchedTypes, invalid: 0 }, [...tallies.values()]);
}

/** The report-check store, counting each accepted report the first time it is checked. */
export class MeasuredReportCheckStore extends ReportCheckStore {
  override async record(accepted: EventEnvelope<ReportsAcceptedData>, matches: ReportMatch[]): Promise<CheckOutcome> {
    const outcome = await super.record(accepted, matches);
    if (outcome.fresh) recordReportCheck(PIPELINE_TENANT, accepted.data.hashes, matches);
    return outcome;
  }
}

/**
 * The index gauges (entries per list and hash type, bytes per hash type, loaded revision per list),
 * read from the engine when metrics are collected: no work between collections.
 */
export const hashCheckMetricsPlugin = fp(
  async (app: FastifyInstance, opts: { engine: ListEngine }) => {
    const meter = hashcheckMeter();
    const entries = gauge(meter, Metric.INDEX_ENTRIES);
    const bytes = gauge(meter, Metric.INDEX_BYTES);
    const revision = gauge(meter, Metric.LIST_REVISION);
    const observables: Observable[] = [entries, bytes, revision];
    const observe = (r: BatchObservableResult): void => {
      if (!opts.engine.isReady) return;
      const state = opts.engine.state();
      for (const l of state.lists) {
        r.observe(revision, l.revision, { [Attr.LIST_ID]: l.id });
        for (const t of HASH_TYPES) r.observe(entries, l.entries[t], { [Attr.LIST_ID]: l.id, [Attr.HASH_TYPE]: t });
      }
      for (const t of HASH_TYPES) r.observe(bytes, state.index.types[t].bytes, { [Attr.HASH_TYPE]: t });
    };
    meter.addBatchObservableCallback(observe, observables);
    app.addHook('onClose', async () => meter.removeBatchObservableCallback(observe, observables));
  },
  { name: 'hash-check-metrics' },
);
