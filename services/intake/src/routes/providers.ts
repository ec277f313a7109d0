import { Type } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { Category, Email, ProviderId, type ProvidersStateData } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { Scope } from '../domain/api-keys';
import { normaliseProviderInput, type ProviderInput } from '../domain/provider-input';
import { viewOf } from '../store/providers';
import { Collections } from '../store/reports';

const WebhookInput = Type.Object(
  {
    url: Type.String({ minLength: 10, maxLength: 2048, description: 'https (plain http only to 127.0.0.1 / localhost)' }),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 512, description: 'HMAC signing secret; write-only: stored and published encrypted, never returned' })),
  },
  { additionalProperties: false },
);

const ProviderFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  country: Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2' }),
  abuseContacts: Type.Array(Email, { maxItems: 20 }),
  webhook: Type.Optional(Type.Union([WebhookInput, Type.Null()], { description: 'null removes the webhook; omitting the secret keeps the stored one' })),
  domains: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 10_000, description: 'each covers its sub-domains; IDN allowed' }),
  ipRanges: Type.Array(Type.String({ minLength: 3, maxLength: 50 }), { maxItems: 10_000, description: 'CIDR, host bits zero' }),
  category: Category,
};

const CreateBody = Type.Object({ id: ProviderId, ...ProviderFields }, { additionalProperties: false });
const PatchBody = Type.Partial(Type.Object(ProviderFields, { additionalProperties: false }), { additionalProperties: false, minProperties: 1 });

const ProviderView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  country: Type.String(),
  abuseContacts: Type.Array(Type.String()),
  webhook: Type.Optional(Type.Object({ url: Type.String(), hasSecret: Type.Boolean() })),
  domains: Type.Array(Type.String()),
  ipRanges: Type.Array(Type.String()),
  category: Type.String(),
  deleted: Type.Optional(Type.Boolean()),
  revision: Type.Integer(),
  updatedAt: Type.String(),
});
const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });
const IdParams = Type.Object({ id: ProviderId });

function normalised(input: ProviderInput) {
  const n = normaliseProviderInput(input);
  if (!n.ok) throw new HashCheckError(ErrorCode.VALIDATION, 'provider is invalid', { details: { reasons: n.reasons } });
  return n.value;
}

function inputOf(state: ProvidersStateData): ProviderInput {
  const input: ProviderInput = { name: state.name, country: state.country, abuseContacts: state.abuseContacts, domains: state.domains, ipRanges: state.ipRanges, category: state.category };
  if (state.webhook) input.webhook = { url: state.webhook.url };
  return input;
}

/** The provider registry's admin API. Every change is stored with its `providers` event (outbox) and applied to the local view at once. */
export async function providerRoutes(app: App): Promise<void> {
  const admin = app.intake.auth.require(Scope.ADMIN);
  const hotline = app.intake.auth.require(Scope.HOTLINE);
  const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

  const published = async (state: ProvidersStateData) => {
    await app.providers.apply(state);
    app.outbox.notify({ collection: Collections.PROVIDERS, id: state.id });
    return viewOf(state);
  };

  app.post('/v1/providers', { preValidation: admin, schema: { summary: 'Register a hosting provider', security: [{ bearer: [] }], body: CreateBody, response: { 201: ProviderView, ...errors } } }, async (request, reply) => {
    const { id, ...fields } = request.body;
    const state = await app.intake.providers.create(id, normalised(fields));
    return reply.status(201).send(await published(state));
  });

  app.patch('/v1/providers/:id', { preValidation: admin, schema: { summary: 'Change some fields of a provider', security: [{ bearer: [] }], params: IdParams, body: PatchBody, response: { 200: ProviderView, ...errors } } }, async (request) => {
    const patch = request.body as Partial<ProviderInput>;
    const state = await app.intake.providers.update(request.params.id, (current) => normalised({ ...inputOf(current), ...patch }));
    return published(state);
  });

  app.delete('/v1/providers/:id', { preValidation: admin, schema: { summary: 'Delete a provider (published as deleted: true)', security: [{ bearer: [] }], params: IdParams, response: { 200: ProviderView, ...errors } } }, async (request) => {
    return published(await app.intake.providers.delete(request.params.id));
  });

  app.get('/v1/providers', { preValidation: admin, schema: { summary: 'List providers', security: [{ bearer: [] }], response: { 200: Type.Object({ providers: Type.Array(ProviderView) }), ...errors } } }, async () => {
    return { providers: (await app.intake.providers.list()).map(viewOf) };
  });

  app.get('/v1/providers/:id', { preValidation: admin, schema: { summary: 'One provider (never its webhook secret)', security: [{ bearer: [] }], params: IdParams, response: { 200: ProviderView, ...errors } } }, async (request) => {
    const state = await app.intake.providers.get(request.params.id);
    if (!state) throw new HashCheckError(ErrorCode.NOT_FOUND, `no provider ${request.params.id}`);
    return viewOf(state);
  });

  app.get(
    '/v1/providers/resolve',
    {
      preValidation: hotline,
      schema: {
        summary: 'Which provider a host (and IP) resolves to, as the pipeline would resolve a report',
        security: [{ bearer: [] }],
        querystring: Type.Object({ host: Type.String({ minLength: 1, maxLength: 253 }), ip: Type.Optional(Type.String({ maxLength: 45 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ resolved: Type.Boolean(), providerId: Type.Union([Type.String(), Type.Null()]), by: Type.Optional(Type.String()), matched: Type.Optional(Type.String()) }), ...errors },
      },
    },
    async (request) => {
      const { host, ip } = request.query;
      const r = app.providers.resolve(host.toLowerCase(), ip);
      return r ? { resolved: true, providerId: r.providerId, by: r.by, matched: r.matched } : { resolved: false, providerId: null };
    },
  );
}
