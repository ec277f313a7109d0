import type { ReportsRejectedData, ReportsSubmittedData } from '@hashcheck/events';
import type { ProviderMaterialiser } from '@hashcheck/providers';
import { normaliseSubmission } from './domain/submission';
import type { ConsumerOutbox, OutboxHint } from '@hashcheck/mongo';
import { Attr, Step, withSpan } from '@hashcheck/telemetry';
import { Collections, type ChannelValue, type ReportDocument, type ReportStore } from './store/reports';

export type IngestResult =
  | { status: 'accepted' | 'duplicate'; report: ReportDocument }
  | { status: 'rejected'; code: ReportsRejectedData['code']; reasons: string[]; reportId?: string };

export interface IngestContext {
  channel: ChannelValue;
  /** The input's own id: the partner's event id, or the HTTP request id and item index. */
  inputRef: string;
  /** Identifies this input for its rejection record, so the same refused input is recorded once. */
  rejectionKey: string;
  original: ReportsRejectedData['original'];
}

/** Largest refused payload copied into a rejection; bigger ones are described, not copied. */
export const MAX_REJECTED_PAYLOAD_BYTES = 64 * 1024;

/** The intake decision for one schema-valid report, the same for Kafka and HTTP. */
export class Ingest {
  constructor(
    private readonly store: ReportStore,
    private readonly providers: Pick<ProviderMaterialiser, 'resolve'>,
    /** Wakes the outbox relay for the document just written (HTTP reports, rejections). */
    private readonly notify: (hint: OutboxHint) => void,
    /** Publishes a Kafka report's event before its input offset can be committed. */
    private readonly consumerOutbox: Pick<ConsumerOutbox, 'publish' | 'publishUnrecorded'>,
  ) {}

  async submit(data: ReportsSubmittedData, ctx: IngestContext): Promise<IngestResult> {
    const report = { [Attr.REPORT_ID]: data.reportId };
    const n = await withSpan(Step.VALIDATE, report, (span) => {
      const r = normaliseSubmission(data);
      span.setAttribute(Attr.OUTCOME, r.ok ? 'valid' : 'invalid');
      return r;
    });
    if (!n.ok) return this.reject(ctx, 'HC_VALIDATION', n.reasons, data.reportId, data.source);
    const resolution = await withSpan(Step.RESOLVE_PROVIDER, report, (span) => {
      const r = this.providers.resolve(n.report.host, n.report.ip);
      span.setAttributes(r ? { [Attr.PROVIDER_ID]: r.providerId, [Attr.RESOLVED_BY]: r.by, [Attr.OUTCOME]: 'resolved' } : { [Attr.OUTCOME]: 'unresolved' });
      return r;
    });
    // The outbox entry is written inside this span, so reports.accepted is published as its child.
    const outcome = await withSpan(Step.STORE_REPORT, { ...report, [Attr.REPORT_CHANNEL]: ctx.channel }, async (span) => {
      const o = await this.store.accept(n.report, { channel: ctx.channel, inputRef: ctx.inputRef, resolution });
      span.setAttributes({ [Attr.OUTCOME]: o.kind, [Attr.CASE_ID]: o.report.caseId });
      return o;
    });
    if (outcome.kind === 'conflict') return this.reject(ctx, 'HC_CONFLICT', outcome.reasons, data.reportId, data.source);
    if (outcome.kind === 'accepted' && outcome.consumerPublishes) await this.consumerOutbox.publish(outcome.outbox);
    else if (outcome.kind === 'accepted') this.notify({ collection: Collections.REPORTS, id: outcome.report._id, entries: outcome.outbox });
    // A redelivery after a crash between the write and the publish: publish what the ledger lacks.
    else if (outcome.kind === 'duplicate' && outcome.consumerEvents) await this.consumerOutbox.publishUnrecorded(outcome.consumerEvents);
    return { status: outcome.kind, report: outcome.report };
  }

  async reject(ctx: IngestContext, code: ReportsRejectedData['code'], reasons: string[], reportId?: string, source?: string): Promise<IngestResult> {
    const original = { ...ctx.original };
    if (original.payload !== undefined) {
      // Kept as JSON text, not as a document: a refused payload may hold `$`-prefixed keys or nesting
      // deeper than the database accepts, and storing it as-is failed the write (a 500 over HTTP, a
      // message redelivered forever over Kafka).
      let text: string | undefined;
      try {
        text = JSON.stringify(original.payload);
      } catch {
        text = undefined;
      }
      const size = text === undefined ? Number.POSITIVE_INFINITY : Buffer.byteLength(text);
      if (text === undefined || size > MAX_REJECTED_PAYLOAD_BYTES) {
        delete original.payload;
        reasons = [...reasons, text === undefined ? '(payload could not be serialised; not copied into this rejection)' : `(payload of ${size} bytes not copied into this rejection)`];
      } else {
        original.payload = text;
      }
    }
    const rejection: Parameters<ReportStore['reject']>[1] = { code, reasons, original };
    if (reportId !== undefined) rejection.reportId = reportId;
    if (source !== undefined) rejection.source = source;
    const r = await this.store.reject(ctx.rejectionKey, rejection);
    if (r.stored) this.notify({ collection: Collections.REJECTIONS, id: ctx.rejectionKey, entries: r.outbox });
    const result: IngestResult = { status: 'rejected', code, reasons };
    if (reportId !== undefined) result.reportId = reportId;
    return result;
  }
}
