import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { HashesChanges, HashesRetractionRequested, ReportsAccepted, type EventEnvelope, type HashesChangesData, type HashesRetractionRequestedData, type ReportsAcceptedData } from '@hashcheck/events';
import type { EventHandler } from '@hashcheck/kafka';
import type { ConsumerOutbox } from '@hashcheck/mongo';
import { Attr, Step, withSpan } from '@hashcheck/telemetry';
import { MatchTallies } from '../domain/bulk-check';
import type { ListEngine } from '../engine/list-engine';
import type { ReportCheckStore } from '../store/reports';
import type { RetractionStore } from '../store/retractions';
import type { TenantStore } from '../store/tenants';

/** Tenant id under which matches of the report pipeline are audited. */
export const PIPELINE_TENANT = 'report-pipeline';

/**
 * reports.accepted: match every hash of the report and emit reports.matched / reports.unmatched,
 * published by this handler once the check is stored (ConsumerOutbox). One outcome per accepted
 * event: a redelivery finds the stored outcome, and publishes its event if a crash kept it back.
 */
export function reportsHandler(engine: ListEngine, checks: ReportCheckStore, tenants: TenantStore, outbox: Pick<ConsumerOutbox, 'publish' | 'publishUnrecorded'>): EventHandler {
  return async (event) => {
    if (event.type !== ReportsAccepted.type) return;
    // Matching against a half-loaded index would emit wrong "unmatched" events.
    if (!engine.isReady) throw new HashCheckError(ErrorCode.DEPENDENCY_UNAVAILABLE, 'hash lists not loaded yet', { retriable: true });
    const accepted = event as EventEnvelope<ReportsAcceptedData>;
    // List ids and a count only: the report's hashes never go into a span.
    await withSpan(Step.MATCH, { [Attr.REPORT_ID]: accepted.data.reportId, [Attr.CASE_ID]: accepted.data.caseId }, async (span) => {
      const matches = engine.matchReport(accepted.data.hashes);
      span.setAttributes({ [Attr.MATCH_COUNT]: matches.length, [Attr.LIST_IDS]: [...new Set(matches.map((m) => m.listId))].sort() });
      const tallies = new MatchTallies();
      for (const m of matches) tallies.add(m.hashType, [m.listId]);
      // Recorded inside the span: reports.matched / unmatched leave the outbox as its children. The
      // audit goes in beside the check, not after it (one round trip less per consumer batch); it is
      // keyed by the accepted event, so a redelivery counts nothing twice and a crash between the two
      // loses no audit record either.
      const [fresh] = await Promise.all([
        checks.record(accepted, matches).then(async (r) => {
          if (r.fresh) await outbox.publish(r.entries);
          else if (r.consumerEvents) await outbox.publishUnrecorded(r.consumerEvents);
          return r.fresh;
        }),
        tenants.recordMatches(PIPELINE_TENANT, 'report', tallies.list(), accepted.id),
      ]);
      span.setAttribute(Attr.OUTCOME, !fresh ? 'already-checked' : matches.length > 0 ? 'matched' : 'unmatched');
    });
  };
}

/**
 * hashes.changes (every instance reads all of it, with its own group): a list change makes the
 * engine re-read that list from the database; a single-hash change is applied at once.
 */
export function changesHandler(engine: ListEngine): EventHandler {
  return async (event) => {
    if (event.type !== HashesChanges.type) return;
    const data = (event as EventEnvelope<HashesChangesData>).data;
    if (data.kind === 'list-enabled' || data.kind === 'list-disabled') {
      await engine.sync(data.listId);
      return;
    }
    if (data.kind === 'added' || data.kind === 'retracted') {
      await engine.applyHashChange(data.listId, data.kind, data.hashType, data.hash, data.category, data.seriesId);
    }
  };
}

/** hashes.retraction-requested: queued for a hotline decision (idempotent by request id). */
export function retractionsHandler(store: RetractionStore): EventHandler {
  return async (event) => {
    if (event.type !== HashesRetractionRequested.type) return;
    await store.receive((event as EventEnvelope<HashesRetractionRequestedData>).data);
  };
}
