import type { FastifyInstance } from 'fastify';
import { Type } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import type { App } from '@hashcheck/http';
import { Scope, SCOPES } from '../domain/api-keys';
import type { EnforcementService } from '../service';
import type { KeyStore } from '../store/keys';
import { ErrorBody, ErrorResponses } from './views';

/** Administrators issue and revoke keys and can run the jobs on demand. */
export async function adminRoutes(app: App, opts: { service: EnforcementService; keys: KeyStore }): Promise<void> {
  const fastify = app as unknown as FastifyInstance;
  const admin = fastify.enforcementAuth(Scope.ADMIN);
  const { service, keys } = opts;

  const KeyView = Type.Object({ keyId: Type.String(), scope: Type.String(), providerId: Type.Union([Type.String(), Type.Null()]), label: Type.String(), createdAt: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]) });

  app.post('/v1/admin/keys', {
    preValidation: admin,
    schema: {
      summary: 'Issue an API key (shown once; only its hash is stored)',
      description: 'A provider key is bound to one provider and acts only on that provider\'s notices. The label is recorded as the actor in evidence files.',
      tags: ['admin'],
      security: [{ bearer: [] }],
      body: Type.Object({
        scope: Type.Union(SCOPES.map((s) => Type.Literal(s))),
        providerId: Type.Optional(Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$' })),
        label: Type.String({ minLength: 1, maxLength: 200 }),
      }, { additionalProperties: false }),
      response: { ...ErrorResponses, 201: Type.Object({ keyId: Type.String(), key: Type.String(), scope: Type.String(), providerId: Type.Union([Type.String(), Type.Null()]), label: Type.String() }), 400: ErrorBody },
    },
  }, async (req, reply) => {
    const { scope, label } = req.body;
    const providerId = req.body.providerId ?? null;
    if (scope === Scope.PROVIDER && !providerId) throw new HashCheckError(ErrorCode.VALIDATION, 'a provider key needs providerId');
    if (scope !== Scope.PROVIDER && providerId) throw new HashCheckError(ErrorCode.VALIDATION, 'only provider keys are bound to a provider');
    const issued = await keys.issue({ scope, providerId, label }, new Date());
    return reply.status(201).send({ ...issued, scope, providerId, label });
  });

  app.get('/v1/admin/keys', {
    preValidation: admin,
    schema: { summary: 'List API keys (without secrets)', tags: ['admin'], security: [{ bearer: [] }], response: { ...ErrorResponses, 200: Type.Object({ keys: Type.Array(KeyView) }) } },
  }, async () => ({
    keys: (await keys.list()).map((k) => ({ keyId: k._id, scope: k.scope, providerId: k.providerId, label: k.label, createdAt: k.createdAt.toISOString(), revokedAt: k.revokedAt?.toISOString() ?? null })),
  }));

  app.delete('/v1/admin/keys/:keyId', {
    preValidation: admin,
    schema: { summary: 'Revoke an API key', tags: ['admin'], security: [{ bearer: [] }], params: Type.Object({ keyId: Type.String({ minLength: 1, maxLength: 64 }) }), response: { ...ErrorResponses, 204: Type.Null(), 404: ErrorBody } },
  }, async (req, reply) => {
    if (!(await keys.revoke(req.params.keyId, new Date()))) throw new HashCheckError(ErrorCode.NOT_FOUND, `no active key ${req.params.keyId}`);
    return reply.status(204).send(null);
  });

  app.post('/v1/admin/retention/run', {
    preValidation: admin,
    schema: { summary: 'Run the retention job now', tags: ['admin'], security: [{ bearer: [] }], response: { ...ErrorResponses, 200: Type.Object({ anonymised: Type.Integer(), parkedRemoved: Type.Integer(), cutoff: Type.String() }) } },
  }, async () => {
    const r = await service.runRetention();
    return { anonymised: r.anonymised, parkedRemoved: r.parkedRemoved, cutoff: r.cutoff.toISOString() };
  });

  app.post('/v1/admin/timers/run', {
    preValidation: admin,
    schema: { summary: 'Fire due timers now instead of at the next poll', tags: ['admin'], security: [{ bearer: [] }], response: { ...ErrorResponses, 200: Type.Object({ fired: Type.Integer() }) } },
  }, async () => ({ fired: await service.fireDueTimers() }));
}
