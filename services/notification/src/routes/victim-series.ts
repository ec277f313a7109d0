import { Type, type Static } from '@sinclair/typebox';
import type { Db } from 'mongodb';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { limitOf, QueryLimit, type App } from '@hashcheck/http';
import { Scope, type ApiKeyEntry } from '../domain/api-keys';
import { requireScope } from '../plugins/auth';
import type { LanguageValue } from '../domain/templates';
import { DIGEST_CHOICES, type DigestChoiceValue } from '../domain/victim';
import { Collections, type VictimDigestDocument, type VictimSeriesDocument } from '../store/collections';
import type { VictimRegistry } from '../victims/registry';

const SeriesId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', description: 'the series id the hash lists carry' });
const Params = Type.Object({ seriesId: SeriesId });
const DateTime = Type.String({ format: 'date-time' });
const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });

const SeriesBody = Type.Object(
  {
    intermediary: Type.Object(
      {
        email: Type.String({ format: 'email', maxLength: 254, description: 'where digests go: the victim-support intermediary, never the person' }),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    reference: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._:/-]*$', description: "the intermediary's own file reference; no names" })),
    choice: Type.Union(DIGEST_CHOICES.map((c) => Type.Literal(c)), { description: 'each-detection, daily, or all-removed' }),
    delaySeconds: Type.Number({ minimum: 0, maximum: 30 * 86_400, description: 'every digest waits at least this long after what triggers it' }),
    language: Type.Optional(Type.Union([Type.Literal('nl'), Type.Literal('en')])),
  },
  { additionalProperties: false },
);

const Counts = Type.Object({ found: Type.Integer(), removed: Type.Integer(), online: Type.Integer(), newlyFound: Type.Integer(), newlyRemoved: Type.Integer() });

const SeriesView = Type.Object({
  seriesId: Type.String(),
  intermediary: Type.Object({ email: Type.String(), name: Type.Optional(Type.String()) }),
  reference: Type.Optional(Type.String()),
  choice: Type.String(),
  delaySeconds: Type.Number(),
  language: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
  nextDigestAt: Type.Union([DateTime, Type.Null()]),
  lastDigestAt: Type.Union([DateTime, Type.Null()]),
  digestsSent: Type.Integer(),
  counts: Type.Optional(Counts),
});

const DigestView = Type.Object({
  digestId: Type.String(),
  state: Type.String({ description: 'sent | failed' }),
  createdAt: DateTime,
  counts: Counts,
  attempts: Type.Array(Type.Object({
    n: Type.Integer(),
    startedAt: DateTime,
    finishedAt: DateTime,
    outcome: Type.String(),
    payloadSha256: Type.Optional(Type.String()),
    smtpResponse: Type.Optional(Type.String()),
    messageId: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
  })),
});

function seriesView(s: VictimSeriesDocument, history: { last: VictimDigestDocument | null; sent: number }): Static<typeof SeriesView> {
  return {
    seriesId: s._id,
    intermediary: s.intermediary,
    ...(s.reference ? { reference: s.reference } : {}),
    choice: s.choice,
    delaySeconds: s.delayMs / 1000,
    language: s.language,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    nextDigestAt: s.nextDigestAt ? s.nextDigestAt.toISOString() : null,
    lastDigestAt: history.last ? history.last.until.toISOString() : null,
    digestsSent: history.sent,
  };
}

/**
 * Administrators keep the opt-in registry. Reads return counts only, like the digests: nothing
 * here reveals which URLs, hashes or providers a series was found at.
 */
export async function victimSeriesRoutes(app: App, opts: { db: Db; keys: readonly ApiKeyEntry[]; registry: VictimRegistry; defaultLanguage: LanguageValue }): Promise<void> {
  const guard = requireScope(opts.keys, Scope.ADMIN);
  const security = [{ bearer: [] }];
  const digests = opts.db.collection<VictimDigestDocument>(Collections.VICTIM_DIGESTS);
  const historyOf = async (seriesId: string) => ({ last: await opts.registry.lastDigest(seriesId), sent: await opts.registry.digestsSent(seriesId) });

  app.put('/v1/victim-series/:seriesId', {
    preValidation: guard,
    schema: {
      summary: 'Register (opt in) or update a series for victim digests',
      tags: ['victim-series'],
      security,
      params: Params,
      body: SeriesBody,
      response: { 200: SeriesView, 201: SeriesView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
    },
  }, async (request, reply) => {
    const b = request.body;
    const { created, series } = await opts.registry.upsert(request.params.seriesId, {
      intermediary: { email: b.intermediary.email, ...(b.intermediary.name ? { name: b.intermediary.name } : {}) },
      ...(b.reference ? { reference: b.reference } : {}),
      choice: b.choice as DigestChoiceValue,
      delayMs: Math.round(b.delaySeconds * 1000),
      language: b.language ?? opts.defaultLanguage,
    });
    return reply.status(created ? 201 : 200).send(seriesView(series, await historyOf(series._id)));
  });

  app.get('/v1/victim-series/:seriesId', {
    preValidation: guard,
    schema: { summary: 'One registered series with its counts', tags: ['victim-series'], security, params: Params, response: { 200: SeriesView, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
  }, async (request) => {
    const s = await opts.registry.get(request.params.seriesId);
    if (!s) throw new HashCheckError(ErrorCode.NOT_FOUND, `series ${request.params.seriesId} is not registered`);
    const history = await historyOf(s._id);
    return { ...seriesView(s, history), counts: await opts.registry.counts(s._id, history.last?.until ?? null, new Date()) };
  });

  app.get('/v1/victim-series', {
    preValidation: guard,
    schema: {
      summary: 'Registered series',
      tags: ['victim-series'],
      security,
      querystring: Type.Object({ limit: QueryLimit(1000, 100) }, { additionalProperties: false }),
      response: { 200: Type.Object({ series: Type.Array(SeriesView) }), 401: ErrorBody, 403: ErrorBody },
    },
  }, async (request) => {
    const list = await opts.registry.list(limitOf(request.query.limit, 1000, 100));
    return { series: await Promise.all(list.map(async (s) => seriesView(s, await historyOf(s._id)))) };
  });

  app.delete('/v1/victim-series/:seriesId', {
    preValidation: guard,
    schema: {
      summary: 'Opt out: remove the series link and everything kept because of it',
      tags: ['victim-series'],
      security,
      params: Params,
      response: { 200: Type.Object({ removed: Type.Boolean(), cases: Type.Integer(), digests: Type.Integer() }), 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request) => {
    const res = await opts.registry.remove(request.params.seriesId);
    // A repeated DELETE after a 409 finds the registration gone and still removes what was kept.
    if (!res.removed && res.cases === 0 && res.digests === 0) throw new HashCheckError(ErrorCode.NOT_FOUND, `series ${request.params.seriesId} is not registered`);
    return res;
  });

  app.get('/v1/victim-series/:seriesId/digests', {
    preValidation: guard,
    schema: {
      summary: 'Digests sent for a series, with their counts and proof of delivery',
      tags: ['victim-series'],
      security,
      params: Params,
      response: { 200: Type.Object({ digests: Type.Array(DigestView) }), 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => {
    // Nothing is served for a series that is not (or no longer) registered.
    if (!(await opts.registry.get(request.params.seriesId))) throw new HashCheckError(ErrorCode.NOT_FOUND, `series ${request.params.seriesId} is not registered`);
    const list = await digests.find({ seriesId: request.params.seriesId }).sort({ createdAt: -1 }).limit(100).toArray();
    return {
      digests: list.map((d) => ({
        digestId: d._id,
        state: d.state,
        createdAt: d.createdAt.toISOString(),
        counts: d.counts,
        attempts: d.attempts.map((a) => ({
          n: a.n,
          startedAt: a.startedAt.toISOString(),
          finishedAt: a.finishedAt.toISOString(),
          outcome: a.outcome,
          ...(a.payloadSha256 ? { payloadSha256: a.payloadSha256 } : {}),
          ...(a.smtpResponse ? { smtpResponse: a.smtpResponse } : {}),
          ...(a.messageId ? { messageId: a.messageId } : {}),
          ...(a.error ? { error: a.error } : {}),
        })),
      })),
    };
  });
}
