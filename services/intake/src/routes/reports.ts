import { randomUUID } from 'node:crypto';
import { Type } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { codec } from '@hashcheck/runtime';
import { Hashes, Match, ReportId, ReportsSubmitted, ReportsSubmittedSchema, SourceId, type ReportsSubmittedData } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { Scope } from '../domain/api-keys';
import { pipelineStatus } from '../domain/status';
import type { IngestResult } from '../ingest';

/** A report as the hotline sends it: the partner event's data, `source` defaulting to the API key's name. */
export const ReportItem = Type.Object(
  { ...ReportsSubmittedSchema.properties, source: Type.Optional(SourceId) },
  { additionalProperties: false, description: 'One report. source defaults to the API key name.' },
);

const ItemResult = Type.Object({
  index: Type.Integer(),
  reportId: Type.Optional(Type.String()),
  status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate'), Type.Literal('rejected')]),
  code: Type.Optional(Type.String()),
  reasons: Type.Optional(Type.Array(Type.String())),
  caseId: Type.Optional(Type.String()),
  caseKey: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  providerId: Type.Union([Type.String(), Type.Null()]),
  providerResolved: Type.Optional(Type.Boolean()),
});

const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });

const NoticeView = Type.Object({ noticeId: Type.String(), channel: Type.String(), sentAt: Type.String(), deadlineAt: Type.String() });

const StatusView = Type.Object({
  reportId: Type.String(),
  status: Type.Union([Type.Literal('accepted'), Type.Literal('rejected')]),
  source: Type.Optional(Type.String()),
  channel: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  host: Type.Optional(Type.String()),
  ip: Type.Optional(Type.String()),
  hashes: Type.Optional(Hashes),
  providerId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  providerResolved: Type.Optional(Type.Boolean()),
  caseKey: Type.Optional(Type.String()),
  caseId: Type.Optional(Type.String()),
  pipeline: Type.Optional(
    Type.Object({
      accepted: Type.Object({ at: Type.String(), published: Type.Boolean() }),
      check: Type.Object({ state: Type.String(), checkedAt: Type.Optional(Type.String()), matches: Type.Array(Type.Omit(Match, ['seriesId'])) }),
      notices: Type.Array(NoticeView),
      case: Type.Object({
        caseId: Type.String(),
        state: Type.String(),
        escalations: Type.Array(Type.Object({ step: Type.String(), stepIndex: Type.Integer(), at: Type.String() })),
        outcome: Type.Optional(Type.String()),
        closedAt: Type.Optional(Type.String()),
        withinDeadline: Type.Optional(Type.Boolean()),
        timeToRemovalSeconds: Type.Optional(Type.Number()),
      }),
    }),
  ),
  code: Type.Optional(Type.String()),
  reasons: Type.Optional(Type.Array(Type.String())),
  rejectedAt: Type.Optional(Type.String()),
});

/**
 * Schema validation of one HTTP item with the partner contract's validator, so both channels give
 * the same reasons; only the JSON pointer is rebased from the event's `/data` onto the item's place
 * in the body (`/` for a single report, `/reports/<i>` in a batch).
 */
function validateItem(item: unknown, keyName: string, isAdmin: boolean, base: string): { ok: true; data: ReportsSubmittedData } | { ok: false; reasons: string[] } {
  const rebase = (reason: string): string => reason.replace(/^\/data(?=(\/)|\s|$)/, (_m, slash: string | undefined) => (slash ? base : base || '/'));
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return { ok: false, reasons: [rebase('/data must be object')] };
  const data = { ...(item as Record<string, unknown>) };
  if (data.source === undefined) data.source = keyName;
  else if (data.source !== keyName && !isAdmin) return { ok: false, reasons: [rebase(`/data/source must be ${keyName} (the name of this API key)`)] };
  const r = codec.validate({ id: randomUUID(), type: ReportsSubmitted.type, version: ReportsSubmitted.version, occurredAt: new Date().toISOString(), source: keyName, subject: 'http', data });
  if (r.ok) return { ok: true, data: data as ReportsSubmittedData };
  return { ok: false, reasons: r.error.reasons.map(rebase) };
}

function toItemResult(index: number, r: IngestResult): typeof ItemResult.static {
  if (r.status === 'rejected') {
    const out: typeof ItemResult.static = { index, status: 'rejected', code: r.code, reasons: r.reasons, providerId: null };
    if (r.reportId !== undefined) out.reportId = r.reportId;
    return out;
  }
  return { index, reportId: r.report._id, status: r.status, caseId: r.report.caseId, caseKey: r.report.caseKey, url: r.report.url, providerId: r.report.providerId, providerResolved: r.report.providerResolved };
}

export async function reportRoutes(app: App, opts: { maxBatch: number }): Promise<void> {
  const hotline = app.intake.auth.require(Scope.HOTLINE);

  app.post(
    '/v1/reports',
    {
      preValidation: hotline,
      schema: {
        summary: 'Submit one report, or a batch as {"reports": [...]}',
        description:
          'Each report is validated with the same contract as the partner topic and the same reasons. Single report: 202 accepted, 200 duplicate (same reportId and content), 400/409 refused with reasons. Batch: 202 when all are accepted or duplicates, 207 when some are refused, 400 when all are.',
        security: [{ bearer: [] }],
        body: Type.Union([ReportItem, Type.Object({ reports: Type.Array(ReportItem, { minItems: 1, maxItems: opts.maxBatch }) }, { additionalProperties: false })]),
        response: { 200: ItemResult, 202: Type.Union([ItemResult, Type.Object({ results: Type.Array(ItemResult) })]), 207: Type.Object({ results: Type.Array(ItemResult) }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody },
      },
      // The body schema above documents the contract; items are validated one by one below so that a
      // batch gets a verdict per report with the partner contract's exact reasons.
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const principal = app.intake.auth.principal(request);
      const body = request.body as unknown;
      const isBatch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'reports' in body;
      let items: unknown[];
      if (isBatch) {
        const reports = (body as { reports: unknown }).reports;
        if (!Array.isArray(reports) || reports.length === 0) throw new HashCheckError(ErrorCode.VALIDATION, 'reports must be a non-empty array', { details: { reasons: ['/reports must be a non-empty array'] } });
        if (reports.length > opts.maxBatch) throw new HashCheckError(ErrorCode.VALIDATION, `at most ${opts.maxBatch} reports per request`, { details: { reasons: [`/reports must NOT have more than ${opts.maxBatch} items`] } });
        if (Object.keys(body as object).length > 1) throw new HashCheckError(ErrorCode.VALIDATION, 'a batch body holds only "reports"', { details: { reasons: ['/ must NOT have additional properties besides reports'] } });
        items = reports;
      } else {
        items = [body];
      }
      const requestRef = randomUUID();
      const results: Array<typeof ItemResult.static> = [];
      for (const [index, item] of items.entries()) {
        const base = isBatch ? `/reports/${index}` : '';
        const ctx = {
          channel: 'http' as const,
          inputRef: `http:${requestRef}#${index}`,
          rejectionKey: `http:${requestRef}:${index}`,
          original: { channel: 'http' as const, requestId: `${requestRef}#${index}`, payload: item },
        };
        const v = validateItem(item, principal.name, principal.scopes.includes('admin'), base);
        const raw = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
        const result = v.ok
          ? await app.intake.ingest.submit(v.data, ctx)
          : await app.intake.ingest.reject(ctx, 'HC_VALIDATION', v.reasons, typeof raw.reportId === 'string' ? raw.reportId : undefined, principal.name);
        results.push(toItemResult(index, result));
      }
      if (!isBatch) {
        const r = results[0]!;
        if (r.status === 'rejected') {
          const code = r.code === 'HC_CONFLICT' ? ErrorCode.CONFLICT : ErrorCode.VALIDATION;
          throw new HashCheckError(code, code === ErrorCode.CONFLICT ? 'report conflicts with one already received' : 'report is invalid', { details: { reportId: r.reportId, reasons: r.reasons } });
        }
        return reply.status(r.status === 'accepted' ? 202 : 200).send(r);
      }
      const rejected = results.filter((r) => r.status === 'rejected').length;
      if (rejected === results.length) {
        const allConflicts = results.every((r) => r.code === 'HC_CONFLICT');
        throw new HashCheckError(allConflicts ? ErrorCode.CONFLICT : ErrorCode.VALIDATION, 'no report in the batch was accepted', { details: { results } });
      }
      return reply.status(rejected > 0 ? 207 : 202).send({ results });
    },
  );

  app.get(
    '/v1/reports/:id',
    {
      preValidation: hotline,
      schema: {
        summary: 'Where a report is in the pipeline: accepted (and published), matched or not, notices sent, case state; or why it was refused',
        security: [{ bearer: [] }],
        params: Type.Object({ id: ReportId }),
        response: { 200: StatusView, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const store = app.intake.reports;
      const found = await store.findWithPending(id);
      if (found) {
        const { report: doc, pendingEvents: pending } = found;
        const check = await store.findCheck(doc);
        const view: typeof StatusView.static = {
          reportId: doc._id,
          status: 'accepted',
          source: doc.source,
          channel: doc.channel,
          url: doc.url,
          host: doc.host,
          hashes: doc.hashes,
          providerId: doc.providerId,
          providerResolved: doc.providerResolved,
          caseKey: doc.caseKey,
          caseId: doc.caseId,
          pipeline: pipelineStatus({ receivedAt: doc.receivedAt, caseId: doc.caseId, pendingEvents: pending, notices: doc.notices, escalations: doc.escalations, ...(check ? { check } : {}), ...(doc.closed ? { closed: doc.closed } : {}) }),
        };
        if (doc.ip !== undefined) view.ip = doc.ip;
        return view;
      }
      const rejection = await store.latestRejection(id);
      if (rejection) {
        const view: typeof StatusView.static = { reportId: id, status: 'rejected', code: rejection.code, reasons: rejection.reasons, rejectedAt: rejection.rejectedAt.toISOString() };
        if (rejection.source !== undefined) view.source = rejection.source;
        view.channel = rejection.original.channel;
        return view;
      }
      throw new HashCheckError(ErrorCode.NOT_FOUND, `no report ${id}`);
    },
  );
}
