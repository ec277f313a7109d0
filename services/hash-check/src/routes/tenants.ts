import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@hashcheck/config';
import { SCOPES, type Scope } from '../domain/api-keys';
import type { ListEngine } from '../engine/list-engine';
import type { ProbingMonitor } from '../engine/probing-monitor';
import type { ApiKeyDoc, TenantDoc, TenantStore, UsageDoc } from '../store/tenants';
import { Counts, errorResponses } from './schemas';

const TenantId = Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$', description: 'lower-case slug; also the Basic auth user name' });
const Kind = Type.Union([Type.Literal('hosting'), Type.Literal('hotline'), Type.Literal('admin')]);
const RateLimit = Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'requests per minute' });

const TenantView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  status: Type.String(),
  rateLimitPerMinute: Type.Optional(Type.Integer()),
  contact: Type.Optional(Type.String()),
  createdAt: Type.String(),
  createdBy: Type.String(),
});
const KeyView = Type.Object({
  keyId: Type.String(),
  tenantId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String(),
  createdBy: Type.String(),
  revokedAt: Type.Optional(Type.String()),
  revokedBy: Type.Optional(Type.String()),
});
const UsageView = Type.Object({
  day: Type.String(),
  requests: Type.Integer(),
  queries: Type.Integer(),
  matches: Type.Integer(),
  nonMatches: Type.Integer(),
  invalid: Type.Integer(),
  byType: Counts,
});

function tenantView(t: TenantDoc): Static<typeof TenantView> {
  return {
    id: t._id,
    name: t.name,
    kind: t.kind,
    status: t.status,
    ...(t.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: t.rateLimitPerMinute } : {}),
    ...(t.contact !== undefined ? { contact: t.contact } : {}),
    createdAt: t.createdAt.toISOString(),
    createdBy: t.createdBy,
  };
}

function keyView(k: Omit<ApiKeyDoc, 'sha256'>): Static<typeof KeyView> {
  return {
    keyId: k._id,
    tenantId: k.tenantId,
    name: k.name,
    scopes: k.scopes,
    createdAt: k.createdAt.toISOString(),
    createdBy: k.createdBy,
    ...(k.revokedAt ? { revokedAt: k.revokedAt.toISOString() } : {}),
    ...(k.revokedBy ? { revokedBy: k.revokedBy } : {}),
  };
}

function usageView(u: UsageDoc): Static<typeof UsageView> {
  return { day: u.day, requests: u.requests ?? 0, queries: u.queries ?? 0, matches: u.matches ?? 0, nonMatches: u.nonMatches ?? 0, invalid: u.invalid ?? 0, byType: { md5: u.byType?.md5 ?? 0, sha1: u.byType?.sha1 ?? 0, sha256: u.byType?.sha256 ?? 0, pdq: u.byType?.pdq ?? 0 } };
}

/** Tenant and key management (admin), the match audit, the caller's own usage, and the engine status. */
export async function tenantRoutes(app: FastifyInstance, opts: { tenants: TenantStore; engine: ListEngine; probing?: ProbingMonitor }): Promise<void> {
  const { tenants } = opts;
  const by = (p: { tenantId: string; keyId: string } | undefined): string => (p ? `${p.tenantId}/${p.keyId}` : 'unknown');
  const tags = ['tenants'];
  const security = [{ bearer: [] }];
  const TenantParams = Type.Object({ tenantId: TenantId });

  app.post<{ Body: { id: string; name: string; kind: TenantDoc['kind']; rateLimitPerMinute?: number; contact?: string } }>(
    '/v1/tenants',
    {
      onRequest: app.guard('admin'),
      schema: {
        summary: 'Create a tenant (a hosting company or a hotline team)',
        tags,
        security,
        body: Type.Object({ id: TenantId, name: Type.String({ minLength: 1, maxLength: 200 }), kind: Kind, rateLimitPerMinute: Type.Optional(RateLimit), contact: Type.Optional(Type.String({ maxLength: 254 })) }, { additionalProperties: false }),
        response: { 201: TenantView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const t = await tenants.createTenant({ _id: b.id, name: b.name, kind: b.kind, rateLimitPerMinute: b.rateLimitPerMinute, contact: b.contact }, by(request.principal));
      return reply.status(201).send(tenantView(t));
    },
  );

  app.get('/v1/tenants', { onRequest: app.guard('admin'), schema: { summary: 'All tenants', tags, security, response: { 200: Type.Object({ tenants: Type.Array(TenantView) }), ...errorResponses } } }, async () => ({
    tenants: (await tenants.listTenants()).map(tenantView),
  }));

  app.get<{ Params: { tenantId: string } }>(
    '/v1/tenants/:tenantId',
    { onRequest: app.guard('admin'), schema: { summary: 'One tenant with its keys and recent usage', tags, security, params: TenantParams, response: { 200: Type.Object({ tenant: TenantView, keys: Type.Array(KeyView), usage: Type.Array(UsageView) }), ...errorResponses } } },
    async (request) => {
      const t = await tenants.getTenant(request.params.tenantId);
      const [keys, usage] = await Promise.all([tenants.listKeys(t._id), tenants.usageOf(t._id)]);
      return { tenant: tenantView(t), keys: keys.map(keyView), usage: usage.map(usageView) };
    },
  );

  app.patch<{ Params: { tenantId: string }; Body: { name?: string; status?: 'active' | 'suspended'; rateLimitPerMinute?: number; contact?: string } }>(
    '/v1/tenants/:tenantId',
    {
      onRequest: app.guard('admin'),
      schema: {
        summary: 'Rename, suspend or re-activate a tenant, or change its rate limit',
        tags,
        security,
        params: TenantParams,
        body: Type.Object(
          { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])), rateLimitPerMinute: Type.Optional(RateLimit), contact: Type.Optional(Type.String({ maxLength: 254 })) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: TenantView, ...errorResponses },
      },
    },
    async (request) => tenantView(await tenants.updateTenant(request.params.tenantId, request.body)),
  );

  app.post<{ Params: { tenantId: string }; Body: { name: string; scopes: Scope[] } }>(
    '/v1/tenants/:tenantId/keys',
    {
      onRequest: app.guard('admin'),
      schema: {
        summary: 'Issue an API key (shown once)',
        tags,
        security,
        params: TenantParams,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), scopes: Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), { minItems: 1, uniqueItems: true }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ key: Type.String({ description: 'the API key; store it now, it cannot be shown again' }), apiKey: KeyView }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { key, doc } = await tenants.issueKey(request.params.tenantId, request.body.name, request.body.scopes, by(request.principal));
      return reply.status(201).header('cache-control', 'no-store').send({ key, apiKey: keyView(doc) });
    },
  );

  app.get<{ Params: { tenantId: string } }>(
    '/v1/tenants/:tenantId/keys',
    { onRequest: app.guard('admin'), schema: { summary: 'Keys of a tenant (never the keys themselves)', tags, security, params: TenantParams, response: { 200: Type.Object({ keys: Type.Array(KeyView) }), ...errorResponses } } },
    async (request) => {
      await tenants.getTenant(request.params.tenantId);
      return { keys: (await tenants.listKeys(request.params.tenantId)).map(keyView) };
    },
  );

  app.delete<{ Params: { tenantId: string; keyId: string } }>(
    '/v1/tenants/:tenantId/keys/:keyId',
    { onRequest: app.guard('admin'), schema: { summary: 'Revoke a key', tags, security, params: Type.Object({ tenantId: TenantId, keyId: Type.String({ pattern: '^[0-9a-f]{16}$' }) }), response: { 200: KeyView, ...errorResponses } } },
    async (request) => keyView(await tenants.revokeKey(request.params.tenantId, request.params.keyId, by(request.principal))),
  );

  app.get<{ Params: { tenantId: string } }>(
    '/v1/tenants/:tenantId/usage',
    { onRequest: app.guard('admin'), schema: { summary: 'Queries per day: matches and non-matches (the hashes are not stored)', tags, security, params: TenantParams, response: { 200: Type.Object({ usage: Type.Array(UsageView) }), ...errorResponses } } },
    async (request) => ({ usage: (await tenants.usageOf(request.params.tenantId)).map(usageView) }),
  );

  app.get('/v1/me', { onRequest: app.guard('checker'), schema: { summary: 'The calling tenant and its usage', tags, security, response: { 200: Type.Object({ tenantId: Type.String(), scopes: Type.Array(Type.String()), usage: Type.Array(UsageView) }), ...errorResponses } } }, async (request) => {
    const p = request.principal as NonNullable<typeof request.principal>;
    return { tenantId: p.tenantId, scopes: [...p.scopes], usage: (await tenants.usageOf(p.tenantId)).map(usageView) };
  });

  app.get<{ Querystring: { tenant?: string; from?: string; to?: string; limit?: string } }>(
    '/v1/audit/matches',
    {
      onRequest: app.guard('admin'),
      schema: {
        summary: 'Recorded matches: tenant, time, hash type, list (no hashes)',
        tags: ['audit'],
        security,
        querystring: Type.Object({ tenant: Type.Optional(TenantId), from: Type.Optional(Type.String({ format: 'date-time' })), to: Type.Optional(Type.String({ format: 'date-time' })), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: '1-9999, default 1000' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ matches: Type.Array(Type.Object({ tenantId: Type.String(), at: Type.String(), hashType: Type.String(), listId: Type.String(), channel: Type.String(), count: Type.Integer() })) }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const docs = await tenants.auditOf({ tenantId: q.tenant, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined }, q.limit === undefined ? 1000 : Number(q.limit));
      return { matches: docs.map((d) => ({ tenantId: d.tenantId, at: d.at.toISOString(), hashType: d.hashType, listId: d.listId, channel: d.channel, count: d.count ?? 1 })) };
    },
  );

  app.get<{ Querystring: { tenant?: string; limit?: string } }>(
    '/v1/audit/probing',
    {
      onRequest: app.guard('admin'),
      schema: {
        summary: 'Probing signals: tenants whose checks looked like probing the lists (newest first)',
        tags: ['audit'],
        security,
        querystring: Type.Object({ tenant: Type.Optional(TenantId), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: '1-9999, default 100' })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ signals: Type.Array(Type.Object({ tenantId: Type.String(), at: Type.String(), reason: Type.String(), count: Type.Integer(), windowMs: Type.Integer(), minDistance: Type.Integer(), channel: Type.String() })) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const docs = opts.probing ? await opts.probing.recent({ tenantId: q.tenant }, q.limit === undefined ? 100 : Number(q.limit)) : [];
      return { signals: docs.map((d) => ({ tenantId: d.tenantId, at: d.at.toISOString(), reason: d.reason, count: d.count, windowMs: d.windowMs, minDistance: d.minDistance, channel: d.channel })) };
    },
  );

  app.get('/v1/status', { onRequest: app.guard('admin'), schema: { summary: 'What this instance holds in memory', tags: ['admin'], security } }, async () => opts.engine.state());
}
