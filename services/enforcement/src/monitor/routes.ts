import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Type } from '@hashcheck/config';
import type { App } from '@hashcheck/http';
import { Scope } from '../domain/api-keys';
import type { Clock } from '../domain/clock';
import type { MonitorQueries } from './queries';
import { ErrorResponses } from '../routes/views';

const N = Type.Number();
const NN = Type.Union([Type.Number(), Type.Null()]);
const Figures = {
  reports: N, notices: N, removed: N, removedWithinDeadline: N, withinDeadlineShare: NN, medianSeconds: NN, p90Seconds: NN,
  outstanding: N, oldestOutstandingSeconds: NN, medianOutstandingAgeSeconds: NN, escalations: N, reuploads: N, falsePositives: N,
};
const ProviderRowSchema = Type.Object({ providerId: Type.String(), name: Type.Union([Type.String(), Type.Null()]), country: Type.String(), category: Type.Union([Type.String(), Type.Null()]), ...Figures });
const CountryRowSchema = Type.Object({ country: Type.String(), providers: N, ...Figures });
const TotalsSchema = Type.Object({ providers: N, timed: N, ...Figures });

const page = (name: string): string => readFileSync(new URL(`./page/${name}`, import.meta.url), 'utf8');

/** The web page may only load its own script and style, and talk only to this service. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The monitor's API (hotline and regulator keys) and its web page (static; data comes from the API). */
export async function monitorRoutes(app: App, opts: { queries: MonitorQueries; clock: Clock }): Promise<void> {
  const fastify = app as unknown as FastifyInstance;
  const staff = fastify.enforcementAuth(Scope.HOTLINE, Scope.REGULATOR);
  const { queries, clock } = opts;

  app.get('/v1/monitor/providers', {
    preValidation: staff,
    schema: {
      summary: 'Per provider: reports, notices, share removed within the deadline, median and p90 time to removal, outstanding items and their age, escalations, re-uploads',
      tags: ['monitor'],
      security: [{ bearer: [] }],
      response: { ...ErrorResponses, 200: Type.Object({ generatedAt: Type.String(), totals: TotalsSchema, providers: Type.Array(ProviderRowSchema) }) },
    },
  }, async () => {
    const now = clock.now();
    const providers = await queries.providers(now);
    return { generatedAt: now.toISOString(), totals: await queries.totals(providers), providers };
  });

  app.get('/v1/monitor/countries', {
    preValidation: staff,
    schema: { summary: 'The same figures per country of the provider', tags: ['monitor'], security: [{ bearer: [] }], response: { ...ErrorResponses, 200: Type.Object({ generatedAt: Type.String(), countries: Type.Array(CountryRowSchema) }) } },
  }, async () => {
    const now = clock.now();
    return { generatedAt: now.toISOString(), countries: await queries.countries(now) };
  });

  app.get('/v1/monitor/distribution', {
    preValidation: staff,
    schema: {
      summary: 'Distribution of time to removal (removed items, from the first notice)',
      tags: ['monitor'],
      security: [{ bearer: [] }],
      querystring: Type.Object({ providerId: Type.Optional(Type.String({ maxLength: 64 })), country: Type.Optional(Type.String({ maxLength: 2 })) }, { additionalProperties: false }),
      response: { ...ErrorResponses, 200: Type.Object({ total: N, buckets: Type.Array(Type.Object({ label: Type.String(), fromSeconds: N, toSeconds: NN, count: N })) }) },
    },
  }, async (req) => queries.distribution({ ...(req.query.providerId ? { providerId: req.query.providerId } : {}), ...(req.query.country ? { country: req.query.country } : {}) }));

  const files = {
    'index.html': { body: page('index.html'), type: 'text/html; charset=utf-8' },
    'monitor.js': { body: page('monitor.js'), type: 'text/javascript; charset=utf-8' },
    'monitor.css': { body: page('monitor.css'), type: 'text/css; charset=utf-8' },
  } as const;
  const serve = (name: keyof typeof files) => async (_req: unknown, reply: { header: (k: string, v: string) => typeof reply; send: (b: string) => unknown }) =>
    reply.header('content-type', files[name].type).header('content-security-policy', PAGE_CSP).header('cache-control', 'no-cache').send(files[name].body);
  app.get('/monitor', { schema: { hide: true } }, serve('index.html'));
  app.get('/monitor/monitor.js', { schema: { hide: true } }, serve('monitor.js'));
  app.get('/monitor/monitor.css', { schema: { hide: true } }, serve('monitor.css'));
}
