import type { FastifyInstance } from 'fastify';
import { Type } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import type { App } from '@hashcheck/http';
import { Scope } from '../domain/api-keys';
import type { EnforcementService } from '../service';
import { CaseOutcomeView, ErrorBody, NoticeIdParam, ProviderCaseView, providerCaseView, ErrorResponses } from './views';

const Selection = {
  caseIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000, description: 'only these cases of the notice (default: all)' })),
  urls: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 1000, description: 'only the items with these URLs' })),
};

/** The provider side: look at a notice, confirm removal, dispute it. */
export async function noticeRoutes(app: App, opts: { service: EnforcementService }): Promise<void> {
  const fastify = app as unknown as FastifyInstance;
  const { service } = opts;
  const actor = (req: { enforcementCaller?: { providerId: string | null; label: string; scope: string } }) => {
    const p = req.enforcementCaller!;
    // Only provider keys are narrowed to their provider; staff act on any notice.
    return { providerId: p.scope === Scope.PROVIDER ? p.providerId : null, label: p.scope === Scope.PROVIDER ? `provider:${p.providerId}` : `${p.scope}:${p.label}` };
  };

  app.get('/v1/notices/:noticeId', {
    preValidation: fastify.enforcementAuth(Scope.PROVIDER, Scope.HOTLINE, Scope.REGULATOR),
    schema: {
      summary: 'The cases of a notice and where each stands',
      tags: ['provider'],
      security: [{ bearer: [] }],
      params: NoticeIdParam,
      response: { ...ErrorResponses, 200: Type.Object({ noticeId: Type.String(), cases: Type.Array(ProviderCaseView) }), 404: ErrorBody },
    },
  }, async (req) => {
    const cases = await service.casesOfNotice(req.params.noticeId, actor(req).providerId);
    return { noticeId: req.params.noticeId, cases: cases.map(providerCaseView) };
  });

  app.post('/v1/notices/:noticeId/removal', {
    preValidation: fastify.enforcementAuth(Scope.PROVIDER, Scope.HOTLINE),
    schema: {
      summary: 'Confirm that the content of a notice was removed',
      description: 'The clock stops when the confirmation arrives; a removedAt given here is recorded in the evidence file as the provider\'s claim.',
      tags: ['provider'],
      security: [{ bearer: [] }],
      params: NoticeIdParam,
      body: Type.Object({ ...Selection, removedAt: Type.Optional(Type.String({ format: 'date-time' })), note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
      response: { ...ErrorResponses, 200: Type.Object({ noticeId: Type.String(), cases: Type.Array(CaseOutcomeView) }), 404: ErrorBody },
    },
  }, async (req) => {
    const results = await service.confirmRemoval(req.params.noticeId, actor(req), req.body);
    return { noticeId: req.params.noticeId, cases: results.map((r) => ({ caseId: r.caseId, result: r.result, ...(r.message ? { message: r.message } : {}), ...(r.state ? { case: providerCaseView(r.state) } : {}) })) };
  });

  app.post('/v1/notices/:noticeId/dispute', {
    preValidation: fastify.enforcementAuth(Scope.PROVIDER),
    schema: {
      summary: 'Dispute a notice: the clock pauses until the hotline decides',
      tags: ['provider'],
      security: [{ bearer: [] }],
      params: NoticeIdParam,
      body: Type.Object({ ...Selection, reason: Type.String({ minLength: 3, maxLength: 2000 }) }, { additionalProperties: false }),
      response: { ...ErrorResponses, 201: Type.Object({ noticeId: Type.String(), cases: Type.Array(CaseOutcomeView) }), 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const results = await service.openDispute(req.params.noticeId, actor(req), req.body);
    if (!results.some((r) => r.result === 'changed')) {
      throw new HashCheckError(ErrorCode.CONFLICT, results.map((r) => `${r.caseId}: ${r.message ?? r.result}`).join('; '));
    }
    return reply.status(201).send({
      noticeId: req.params.noticeId,
      cases: results.map((r) => ({ caseId: r.caseId, result: r.result, ...(r.message ? { message: r.message } : {}), ...(r.disputeId ? { disputeId: r.disputeId } : {}), ...(r.state ? { case: providerCaseView(r.state) } : {}) })),
    });
  });
}
