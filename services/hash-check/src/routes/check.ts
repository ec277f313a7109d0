import type { FastifyInstance } from 'fastify';
import { HashCheckError } from '@hashcheck/errors';
import { HASH_BYTES, isHashType } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';
import { isFastCheckBody, parseCheckBody } from '../domain/bulk-body';
import { bulkCheck, fastBulkCheck, MatchTallies } from '../domain/bulk-check';
import { CheckCode } from '../domain/codes';
import type { ListEngine } from '../engine/list-engine';
import type { PdqObservation, ProbingMonitor } from '../engine/probing-monitor';
import { CheckApi, recordChecks } from '../metrics';
import type { TenantStore } from '../store/tenants';
import { CheckRequest, CheckResponse, ErrorBody, HashTypeSchema } from './schemas';
import { Type } from '@hashcheck/config';

export interface CheckRoutesOptions {
  engine: ListEngine;
  tenants: TenantStore;
  probing?: ProbingMonitor;
  maxItems: number;
  bodyLimit: number;
}

const noValidation = (): ((data: unknown) => boolean) => () => true;

/** The check APIs for hosting companies: bulk JSON, and the EOKM-compatible single-hash form. */
export async function checkRoutes(app: FastifyInstance, opts: CheckRoutesOptions): Promise<void> {
  const { engine, tenants } = opts;

  // The bulk route in its own scope: its JSON arrives as bytes, read by parseCheckBody for the
  // common shape (no object or string per item); any other body goes through fastify's own JSON
  // parser (same prototype-poisoning rules and errors) and the general path.
  await app.register(async (bulk) => {
    const jsonParser = bulk.getDefaultJsonParser('error', 'error');
    bulk.removeContentTypeParser('application/json');
    bulk.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (req, body, done) => {
      const fast = parseCheckBody(body as Buffer);
      if (fast !== undefined) done(null, fast);
      else jsonParser(req, (body as Buffer).toString('utf8'), done);
    });
    bulk.post(
      '/v1/check',
      {
        bodyLimit: opts.bodyLimit,
        onRequest: bulk.guard('checker'),
        // Items are validated one by one in the handler (an invalid item must not fail the request), so
        // the schema documents the contract without validating; the answer is serialised by hand.
        validatorCompiler: noValidation,
        schema: {
          summary: 'Check up to 10,000 hashes',
          description: 'Bearer API key with the checker scope. One result per item, in order. Never returns list contents.',
          tags: ['check'],
          security: [{ bearer: [] }],
          body: CheckRequest,
          response: { 200: CheckResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody, 429: ErrorBody },
        },
      },
      async (request, reply) => {
        // The first PDQ items (bounded) also go to the probing detector, with what they matched.
        const pdq: PdqObservation[] = [];
        const maxPdq = opts.probing?.maxPerRequest ?? 0;
        const body = request.body;
        const outcome = isFastCheckBody(body)
          ? fastBulkCheck(body, opts.maxItems, engine, (start, len, m) => {
              if (pdq.length < maxPdq) pdq.push({ hash: Buffer.from(body.buf.buffer, body.buf.byteOffset + start, len).toString('latin1'), matches: m });
            })
          : bulkCheck(body, opts.maxItems, (t, h) => {
              const m = engine.match(t, h);
              if (t === 'pdq' && m !== undefined && pdq.length < maxPdq) pdq.push({ hash: h, matches: m });
              return m;
            });
        const tenantId = request.principal?.tenantId as string;
        const queries = outcome.items - outcome.invalid;
        tenants.count(tenantId, { queries, matches: outcome.matchedItems, invalid: outcome.invalid, byType: outcome.byType });
        if (pdq.length > 0) opts.probing?.observe(tenantId, 'bulk', pdq);
        recordChecks(tenantId, CheckApi.BULK, { queries, matches: outcome.matchedItems, invalid: outcome.invalid }, outcome.matched);
        await tenants.recordMatches(tenantId, 'bulk', outcome.matched);
        return reply.type('application/json; charset=utf-8').send(outcome.body);
      },
    );
  });

  // EOKM-compatible endpoints in their own scope: they take the body as text whatever the content type.
  await app.register(async (eokm) => {
    eokm.removeAllContentTypeParsers();
    eokm.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));
    eokm.post<{ Params: { type: string }; Body: string }>(
      '/v1/check/:type',
      {
        onRequest: eokm.guard('checker', { basic: true }),
        // The type is checked in the handler, to answer with the precise code.
        validatorCompiler: noValidation,
        schema: {
          summary: 'Check one hash (EOKM HashCheck compatible)',
          description: 'HTTP Basic auth (user = tenant id, password = API key). The body is the hash in hex; the answer is text/plain true or false.',
          tags: ['check'],
          security: [{ basic: [] }],
          params: Type.Object({ type: HashTypeSchema }),
          response: { 200: Type.String({ enum: ['true', 'false'] }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody, 429: ErrorBody },
        },
      },
      async (request, reply) => {
        const type = request.params.type;
        if (!isHashType(type)) throw new HashCheckError(CheckCode.UNKNOWN_HASH_TYPE, `unknown hash type ${type}: md5, sha1, sha256 or pdq`, { statusCode: 400 });
        const hash = typeof request.body === 'string' ? request.body.trim() : '';
        if (hash === '') throw new HashCheckError(CheckCode.MALFORMED_BODY, `the body is the ${type} hash in hex`, { statusCode: 400 });
        const matches = engine.match(type as HashType, hash);
        if (matches === undefined) throw new HashCheckError(CheckCode.INVALID_HASH, `a ${type} hash is ${HASH_BYTES[type] * 2} hex digits`, { statusCode: 400 });
        const tenantId = request.principal?.tenantId as string;
        const tallies = new MatchTallies();
        if (matches.length > 0) tallies.add(type as HashType, matches.map((m) => m.list));
        const byType = { md5: 0, sha1: 0, sha256: 0, pdq: 0 };
        byType[type as HashType] = 1;
        tenants.count(tenantId, { queries: 1, matches: matches.length > 0 ? 1 : 0, invalid: 0, byType });
        if (type === 'pdq' && (opts.probing?.maxPerRequest ?? 0) > 0) opts.probing?.observe(tenantId, 'eokm', [{ hash, matches }]);
        recordChecks(tenantId, CheckApi.EOKM, { queries: 1, matches: matches.length > 0 ? 1 : 0, invalid: 0 }, tallies.list());
        await tenants.recordMatches(tenantId, 'eokm', tallies.list());
        return reply.type('text/plain; charset=utf-8').send(matches.length > 0 ? 'true' : 'false');
      },
    );
  });

}
