import type { FastifyInstance } from 'fastify';
import type { Filter } from 'mongodb';
import { Type } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { toNdjson, verify } from '@hashcheck/evidence';
import { limitOf, QueryLimit, type App } from '@hashcheck/http';
import { Scope } from '../domain/api-keys';
import { CaseStatus, DisputeDecision, OfficerDecision } from '../domain/case';
import { parseDuration } from '../domain/duration';
import type { EnforcementService } from '../service';
import type { CaseDocument, EvidenceRead } from '../store/cases';
import type { OrderStore } from '../store/orders';
import { CaseIdParam, CaseView, caseView, DisputeIdParam, ErrorBody, ErrorResponses } from './views';

/** The export route's answer when the evidence file it read does not verify (500). */
export const EVIDENCE_UNVERIFIED = 'HC_EVIDENCE_UNVERIFIED';

/**
 * Why the evidence file about to be served must not be, or undefined. The file must verify, its
 * head must be the one the latest record claims (the export's headers), the records must run
 * 1..n without a gap, and the view (a second copy of the latest record number and head, written
 * after each record) must not know of a later record or a head outside the chain: a log cut at its
 * end is consistent in itself and only caught against what else knows how long it is.
 */
export function evidenceProblem(ev: EvidenceRead, body: string): string | undefined {
  const viewHead = ev.view?.evidenceHead ?? undefined;
  const r = verify(body, viewHead ? { expectedHead: viewHead.hash, expectedCount: viewHead.seq } : {});
  if (!r.ok) return viewHead && r.problem === 'missing' && r.verifiedEntries === (ev.head?.seq ?? 0) ? `${r.message} (the case view's head is entry ${viewHead.seq})` : r.message;
  const lastRecord = ev.recordSeqs[ev.recordSeqs.length - 1] ?? 0;
  const gap = ev.recordSeqs.findIndex((seq, i) => seq !== i + 1);
  if (gap >= 0) return `case record ${gap + 1} is missing from the log (found record ${ev.recordSeqs[gap]} in its place)`;
  if (ev.view && ev.view.seq > lastRecord) return `the log ends at case record ${lastRecord} but the case view is at record ${ev.view.seq}: records after ${lastRecord} are missing`;
  const served = r.head ?? null;
  if ((served?.seq ?? 0) !== (ev.head?.seq ?? 0) || (served?.hash ?? null) !== (ev.head?.hash ?? null)) {
    return `the file ends at entry ${served?.seq ?? 0} but the latest case record names head entry ${ev.head?.seq ?? 0}`;
  }
  return undefined;
}

/** Hotline and regulator: cases, evidence, disputes, officer decisions, deadline orders. */
export async function staffRoutes(app: App, opts: { service: EnforcementService; orders: OrderStore }): Promise<void> {
  const fastify = app as unknown as FastifyInstance;
  const { service, orders } = opts;
  const staff = fastify.enforcementAuth(Scope.HOTLINE, Scope.REGULATOR);
  const label = (req: { enforcementCaller?: { label: string } }): string => req.enforcementCaller!.label;

  app.get('/v1/cases', {
    preValidation: staff,
    schema: {
      summary: 'List cases',
      tags: ['cases'],
      security: [{ bearer: [] }],
      querystring: Type.Object({
        status: Type.Optional(Type.Union(Object.values(CaseStatus).map((v) => Type.Literal(v)))),
        providerId: Type.Optional(Type.String({ maxLength: 64 })),
        limit: QueryLimit(1000, 100),
      }, { additionalProperties: false }),
      response: { ...ErrorResponses, 200: Type.Object({ cases: Type.Array(CaseView) }) },
    },
  }, async (req) => {
    const filter: Record<string, unknown> = {};
    if (req.query.status) filter.status = req.query.status;
    if (req.query.providerId) filter.providerId = req.query.providerId;
    const cases = await service.deps.cases.find(filter as Filter<CaseDocument>, limitOf(req.query.limit, 1000, 100));
    const now = service.clock.now();
    return { cases: cases.map((c) => caseView(c, now)) };
  });

  app.get('/v1/cases/:caseId', {
    preValidation: staff,
    schema: { summary: 'One case, with its escalation steps and accrued penalty', tags: ['cases'], security: [{ bearer: [] }], params: CaseIdParam, response: { ...ErrorResponses, 200: CaseView, 404: ErrorBody } },
  }, async (req) => {
    const c = await service.deps.cases.current(req.params.caseId);
    if (!c) throw new HashCheckError(ErrorCode.NOT_FOUND, `no case ${req.params.caseId}`);
    return caseView(c.state, service.clock.now(), c.evidenceHead);
  });

  app.get('/v1/cases/:caseId/evidence', {
    preValidation: staff,
    schema: {
      summary: 'The evidence file of a case (NDJSON, one hash-chained entry per line)',
      description: 'Check it with `hashcheck evidence verify FILE`. Headers x-evidence-head and x-evidence-count anchor the file.',
      tags: ['cases'],
      security: [{ bearer: [] }],
      params: CaseIdParam,
      response: { ...ErrorResponses, 200: Type.String({ description: 'application/x-ndjson' }), 404: ErrorBody, 500: ErrorBody },
    },
  }, async (req, reply) => {
    const caseId = req.params.caseId;
    const ev = await service.deps.cases.evidence(caseId);
    if (!ev) throw new HashCheckError(ErrorCode.NOT_FOUND, `no case ${caseId}`);
    const body = toNdjson(ev.entries);
    const problem = evidenceProblem(ev, body);
    if (problem) {
      req.log.error({ caseId, reason: problem }, 'evidence file failed verification');
      throw new HashCheckError(EVIDENCE_UNVERIFIED, `the evidence file of case ${caseId} failed verification and is not served: ${problem}`, { statusCode: 500, details: { caseId, reason: problem } });
    }
    return reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="case-${req.params.caseId.replace(/[^A-Za-z0-9._-]/g, '_')}.evidence.ndjson"`)
      .header('x-evidence-head', ev.head?.hash ?? '')
      .header('x-evidence-count', String(ev.head?.seq ?? 0))
      .send(body);
  });

  app.post('/v1/cases/:caseId/decisions', {
    preValidation: fastify.enforcementAuth(Scope.REGULATOR),
    schema: {
      summary: 'A case officer decides on the escalation step awaiting a decision',
      description: 'issue: the step is issued now (an order subject to a penalty is dated now); skip: go on to the next step; defer: propose the same step again at `until`.',
      tags: ['regulator'],
      security: [{ bearer: [] }],
      params: CaseIdParam,
      body: Type.Object({
        stepIndex: Type.Integer({ minimum: 0 }),
        decision: Type.Union([Type.Literal(OfficerDecision.ISSUE), Type.Literal(OfficerDecision.SKIP), Type.Literal(OfficerDecision.DEFER)]),
        until: Type.Optional(Type.String({ format: 'date-time' })),
        note: Type.Optional(Type.String({ maxLength: 2000 })),
      }, { additionalProperties: false }),
      response: { ...ErrorResponses, 200: CaseView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req) => {
    const s = await service.officerDecision(req.params.caseId, label(req), req.body);
    return caseView(s, service.clock.now());
  });

  app.get('/v1/disputes', {
    preValidation: staff,
    schema: {
      summary: 'Disputes awaiting a hotline decision',
      tags: ['hotline'],
      security: [{ bearer: [] }],
      response: { ...ErrorResponses, 200: Type.Object({ disputes: Type.Array(Type.Object({ disputeId: Type.String(), caseId: Type.String(), providerId: Type.Union([Type.String(), Type.Null()]), noticeId: Type.Union([Type.String(), Type.Null()]), openedAt: Type.String(), openedBy: Type.String() })) }) },
    },
  }, async () => {
    const cases = await service.deps.cases.find({ status: CaseStatus.DISPUTED } as Filter<CaseDocument>);
    return {
      disputes: cases.flatMap((c) => c.disputes.filter((d) => d.decision === null).map((d) => ({ disputeId: d.id, caseId: c.id, providerId: c.providerId, noticeId: d.noticeId, openedAt: d.openedAt.toISOString(), openedBy: d.openedBy }))),
    };
  });

  app.post('/v1/disputes/:disputeId/decision', {
    preValidation: fastify.enforcementAuth(Scope.HOTLINE),
    schema: {
      summary: 'The hotline decides a dispute',
      description: 'false-positive: hash-check is asked to retract the matched hashes and every open case on them closes as a false positive. rejected: the clock resumes with the paused time added.',
      tags: ['hotline'],
      security: [{ bearer: [] }],
      params: DisputeIdParam,
      body: Type.Object({ decision: Type.Union([Type.Literal(DisputeDecision.FALSE_POSITIVE), Type.Literal(DisputeDecision.REJECTED)]), note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
      response: { ...ErrorResponses, 200: Type.Object({ disputeId: Type.String(), case: CaseView, sweptCases: Type.Integer() }), 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req) => {
    const r = await service.decideDispute(req.params.disputeId, label(req), req.body);
    return { disputeId: req.params.disputeId, case: caseView(r.state, service.clock.now()), sweptCases: r.sweptCases };
  });

  const OrderView = Type.Object({ reference: Type.String(), providerId: Type.String(), deadlineSeconds: Type.Number(), validFrom: Type.String(), validUntil: Type.Union([Type.String(), Type.Null()]), createdBy: Type.String() });
  const orderView = (o: { _id: string; providerId: string; deadlineMs: number; validFrom: Date; validUntil: Date | null; createdBy: string }) => ({
    reference: o._id, providerId: o.providerId, deadlineSeconds: o.deadlineMs / 1000, validFrom: o.validFrom.toISOString(), validUntil: o.validUntil?.toISOString() ?? null, createdBy: o.createdBy,
  });

  app.get('/v1/regulator/orders', {
    preValidation: staff,
    schema: { summary: 'Deadline orders', tags: ['regulator'], security: [{ bearer: [] }], response: { ...ErrorResponses, 200: Type.Object({ orders: Type.Array(OrderView) }) } },
  }, async () => ({ orders: (await orders.list()).map(orderView) }));

  app.put('/v1/regulator/orders/:reference', {
    preValidation: fastify.enforcementAuth(Scope.REGULATOR),
    schema: {
      summary: 'Set a provider\'s removal deadline by order (e.g. 1 hour)',
      description: 'Applies to notices sent while the order is in force; an order stricter than a notice\'s own deadline binds.',
      tags: ['regulator'],
      security: [{ bearer: [] }],
      params: Type.Object({ reference: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._/:-]*$' }) }),
      body: Type.Object({
        providerId: Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$' }),
        deadline: Type.String({ minLength: 1, maxLength: 20, description: 'e.g. 1h, 30m' }),
        validFrom: Type.Optional(Type.String({ format: 'date-time' })),
        validUntil: Type.Optional(Type.String({ format: 'date-time' })),
      }, { additionalProperties: false }),
      response: { ...ErrorResponses, 200: OrderView, 400: ErrorBody },
    },
  }, async (req) => {
    let deadlineMs: number;
    try {
      deadlineMs = parseDuration(req.body.deadline);
    } catch (err) {
      throw new HashCheckError(ErrorCode.VALIDATION, (err as Error).message);
    }
    if (deadlineMs < 60_000) throw new HashCheckError(ErrorCode.VALIDATION, 'a deadline order must give at least one minute');
    const now = service.clock.now();
    const doc = await orders.put({
      providerId: req.body.providerId, deadlineMs, reference: req.params.reference,
      validFrom: req.body.validFrom ? new Date(req.body.validFrom) : now,
      validUntil: req.body.validUntil ? new Date(req.body.validUntil) : null,
      createdBy: label(req),
    }, now);
    return orderView(doc);
  });

  app.delete('/v1/regulator/orders/:reference', {
    preValidation: fastify.enforcementAuth(Scope.REGULATOR),
    schema: { summary: 'Withdraw a deadline order', tags: ['regulator'], security: [{ bearer: [] }], params: Type.Object({ reference: Type.String({ minLength: 1, maxLength: 200 }) }), response: { ...ErrorResponses, 204: Type.Null(), 404: ErrorBody } },
  }, async (req, reply) => {
    if (!(await orders.remove(req.params.reference))) throw new HashCheckError(ErrorCode.NOT_FOUND, `no order ${req.params.reference}`);
    return reply.status(204).send(null);
  });

  app.get('/v1/policy/:providerId', {
    preValidation: staff,
    schema: {
      summary: 'The removal deadline that applies to a provider now',
      tags: ['regulator'],
      security: [{ bearer: [] }],
      params: Type.Object({ providerId: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: { ...ErrorResponses, 200: Type.Object({ providerId: Type.String(), deadlineSeconds: Type.Number(), source: Type.String(), reference: Type.Union([Type.String(), Type.Null()]) }) },
    },
  }, async (req) => {
    const p = await service.policyFor(req.params.providerId, service.clock.now());
    return { providerId: req.params.providerId, deadlineSeconds: p.ms / 1000, source: p.source, reference: p.reference ?? null };
  });
}
