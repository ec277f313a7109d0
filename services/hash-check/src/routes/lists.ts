import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { DEFAULT_PDQ_THRESHOLD, HASH_BYTES, isHashType, isValidHashHex, MAX_PDQ_THRESHOLD } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';
import { CheckCode } from '../domain/codes';
import { LIST_FILE_FORMATS, type ListEntry, type ListFileFormat } from '../domain/list-file';
import { isCategory, isSeriesId, LIST_SOURCES } from '../domain/names';
import type { ListEngine } from '../engine/list-engine';
import { importStream, writeEntries } from '../engine/release-writer';
import type { ListDoc, ListStore, ReleaseDoc } from '../store/lists';
import { Counts, HashTypeSchema, errorResponses } from './schemas';

export interface ListRoutesOptions {
  store: ListStore;
  engine: ListEngine;
  chunkSize: number;
  maxImportBytes: number;
  maxChangeItems: number;
  /** Wakes the outbox relay for the list whose document just queued an event. */
  notify: (listId: string) => void;
}

const Slug = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' });
const ListIdParam = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });

const NewListBody = Type.Object(
  {
    id: ListIdParam,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    source: Type.Union(LIST_SOURCES.map((s) => Type.Literal(s)), { description: 'provenance' }),
    category: Slug,
    owner: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    threshold: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PDQ_THRESHOLD, description: `PDQ Hamming distance threshold, default ${DEFAULT_PDQ_THRESHOLD}` })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  },
  { additionalProperties: false },
);

const ListPatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    category: Type.Optional(Slug),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    threshold: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PDQ_THRESHOLD })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  },
  { additionalProperties: false, minProperties: 1 },
);

const ListView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  source: Type.String(),
  category: Type.String(),
  owner: Type.String(),
  description: Type.Optional(Type.String()),
  status: Type.String(),
  threshold: Type.Integer(),
  revision: Type.Integer(),
  activeReleaseId: Type.Union([Type.String(), Type.Null()]),
  base: Type.Union([Type.String(), Type.Null()]),
  patches: Type.Array(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  updatedBy: Type.String(),
  loaded: Type.Object({ revision: Type.Union([Type.Integer(), Type.Null()]), entries: Type.Union([Counts, Type.Null()]) }, { description: 'what this instance holds in memory' }),
});

const ReleaseView = Type.Object({
  id: Type.String(),
  listId: Type.String(),
  mode: Type.String(),
  format: Type.String(),
  status: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  note: Type.Optional(Type.String()),
  lines: Type.Integer(),
  counts: Type.Object({ add: Counts, retract: Counts }),
  errorCount: Type.Integer(),
  errors: Type.Optional(Type.Array(Type.Object({ line: Type.Integer(), reason: Type.String() }))),
  chunks: Type.Integer(),
  completedAt: Type.Optional(Type.String()),
  activatedAt: Type.Optional(Type.String()),
  activatedBy: Type.Optional(Type.String()),
  revision: Type.Optional(Type.Integer()),
  failure: Type.Optional(Type.String()),
});

const ChangeEntry = Type.Object(
  { type: HashTypeSchema, hash: Type.String(), category: Type.Optional(Slug), series: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) },
  { additionalProperties: false },
);
const ChangesBody = Type.Object(
  {
    add: Type.Optional(Type.Array(ChangeEntry)),
    retract: Type.Optional(Type.Array(Type.Object({ type: HashTypeSchema, hash: Type.String() }, { additionalProperties: false }))),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

const ImportQuery = Type.Object(
  {
    mode: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('delta')], { description: 'full = the complete new content (default); delta = additions and retractions' })),
    format: Type.Optional(Type.Union(LIST_FILE_FORMATS.map((f) => Type.Literal(f)), { description: 'default from the content type: ndjson, csv or text' })),
    type: Type.Optional(HashTypeSchema),
    activate: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'activate at once when the import is complete (default false)' })),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    maxErrors: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$', description: 'fail the release when more lines than this are malformed' })),
  },
  { additionalProperties: false },
);

function listView(doc: ListDoc, engine: ListEngine): Static<typeof ListView> {
  return {
    id: doc._id,
    name: doc.name,
    source: doc.source,
    category: doc.category,
    owner: doc.owner,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    status: doc.status,
    threshold: doc.threshold,
    revision: doc.revision,
    activeReleaseId: doc.activeReleaseId,
    base: doc.base,
    patches: doc.patches,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
    updatedBy: doc.updatedBy,
    loaded: { revision: engine.revisionOf(doc._id) ?? null, entries: engine.entriesOf(doc._id) ?? null },
  };
}

export function releaseView(r: ReleaseDoc, withErrors = false): Static<typeof ReleaseView> {
  return {
    id: r._id,
    listId: r.listId,
    mode: r.mode,
    format: r.format,
    status: r.status,
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy,
    ...(r.note !== undefined ? { note: r.note } : {}),
    lines: r.lines,
    counts: r.counts,
    errorCount: r.errorCount,
    ...(withErrors ? { errors: r.errors } : {}),
    chunks: r.chunks,
    ...(r.completedAt ? { completedAt: r.completedAt.toISOString() } : {}),
    ...(r.activatedAt ? { activatedAt: r.activatedAt.toISOString() } : {}),
    ...(r.activatedBy ? { activatedBy: r.activatedBy } : {}),
    ...(r.revision !== undefined ? { revision: r.revision } : {}),
    ...(r.failure !== undefined ? { failure: r.failure } : {}),
  };
}

const FORMAT_BY_TYPE: Record<string, ListFileFormat> = {
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'text/csv': 'csv',
  'text/plain': 'text',
};

/** The bodies a list file may come as, handed to the route as a stream. */
const STREAMED_TYPES = [...Object.keys(FORMAT_BY_TYPE), 'application/octet-stream'];

/** List management for the hotline: lists, releases (import, activate, discard) and single changes. */
export async function listRoutes(app: FastifyInstance, opts: ListRoutesOptions): Promise<void> {
  const { store, engine } = opts;
  const by = (p: { tenantId: string; keyId: string } | undefined): string => (p ? `${p.tenantId}/${p.keyId}` : 'unknown');
  const tags = ['lists'];
  const security = [{ bearer: [] }];

  // Release uploads arrive as streams (any size, bounded memory); only the JSON routes parse bodies.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(STREAMED_TYPES, (_req, payload, done) => done(null, payload));

  app.get('/v1/lists', { onRequest: app.guard('hotline'), schema: { summary: 'All lists', tags, security, response: { 200: Type.Object({ lists: Type.Array(ListView) }), ...errorResponses } } }, async () => ({
    lists: (await store.allLists()).map((d) => listView(d, engine)),
  }));

  app.post<{ Body: Static<typeof NewListBody> }>(
    '/v1/lists',
    { onRequest: app.guard('hotline'), schema: { summary: 'Create a list', tags, security, body: NewListBody, response: { 201: ListView, ...errorResponses } } },
    async (request, reply) => {
      const b = request.body;
      const doc = await store.createList({ ...b, threshold: b.threshold ?? DEFAULT_PDQ_THRESHOLD, status: b.status ?? 'active' }, by(request.principal));
      opts.notify(doc._id);
      await engine.sync(doc._id);
      return reply.status(201).send(listView(doc, engine));
    },
  );

  app.get<{ Params: { listId: string } }>(
    '/v1/lists/:listId',
    { onRequest: app.guard('hotline'), schema: { summary: 'One list', tags, security, params: Type.Object({ listId: ListIdParam }), response: { 200: ListView, ...errorResponses } } },
    async (request) => listView(await store.requireList(request.params.listId), engine),
  );

  app.patch<{ Params: { listId: string }; Body: Static<typeof ListPatchBody> }>(
    '/v1/lists/:listId',
    {
      onRequest: app.guard('hotline'),
      schema: { summary: 'Change name, category, owner, threshold or status (active/disabled)', tags, security, params: Type.Object({ listId: ListIdParam }), body: ListPatchBody, response: { 200: ListView, ...errorResponses } },
    },
    async (request) => {
      const doc = await store.updateList(request.params.listId, request.body, by(request.principal));
      opts.notify(doc._id);
      await engine.sync(doc._id);
      return listView(doc, engine);
    },
  );

  app.delete<{ Params: { listId: string } }>(
    '/v1/lists/:listId',
    { onRequest: app.guard('hotline'), schema: { summary: 'Retire a list: it stops matching; its releases stay as history', tags, security, params: Type.Object({ listId: ListIdParam }), response: { 200: ListView, ...errorResponses } } },
    async (request) => {
      const doc = await store.retireList(request.params.listId, by(request.principal));
      opts.notify(doc._id);
      await engine.sync(doc._id);
      return listView(doc, engine);
    },
  );

  app.post<{ Params: { listId: string }; Querystring: Static<typeof ImportQuery>; Body: Readable }>(
    '/v1/lists/:listId/releases',
    {
      onRequest: app.guard('hotline'),
      schema: {
        summary: 'Import a release from a list file (streamed)',
        description:
          'Body: NDJSON (application/x-ndjson), CSV with a header (text/csv) or one hash per line (text/plain, with ?type=). Malformed lines are reported with their numbers and reasons; the release becomes active only when complete (activate=true, or POST …/activate later).',
        tags,
        security,
        params: Type.Object({ listId: ListIdParam }),
        querystring: ImportQuery,
        response: { 201: Type.Object({ release: ReleaseView, activated: Type.Boolean() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const format = q.format ?? FORMAT_BY_TYPE[contentType];
      // Only these types reach the route as a stream (the parser above); `?format=` names the format
      // of an octet stream, it cannot make a JSON body one (that failed inside the import, as a 400
      // carrying a TypeError's text, and left a failed release behind).
      if (format === undefined || !STREAMED_TYPES.includes(contentType)) {
        throw new HashCheckError(CheckCode.UNSUPPORTED_MEDIA_TYPE, 'send application/x-ndjson, text/csv or text/plain, or name the format with ?format=', { statusCode: 415 });
      }
      if (format === 'text' && q.type === undefined) throw new HashCheckError(ErrorCode.VALIDATION, 'a text list file needs ?type= (md5, sha1, sha256 or pdq)');
      await store.requireList(request.params.listId);
      const release = await importStream(store, request.body, {
        listId: request.params.listId,
        mode: q.mode ?? 'full',
        format,
        type: q.type,
        by: by(request.principal),
        note: q.note,
        chunkSize: opts.chunkSize,
        maxBytes: opts.maxImportBytes,
        maxErrors: q.maxErrors === undefined ? undefined : Number(q.maxErrors),
      });
      let result = release;
      let activated = false;
      if (q.activate === 'true' && release.status === 'ready') {
        result = (await store.activate(release.listId, release._id, by(request.principal))).release;
        activated = true;
        opts.notify(release.listId);
        await engine.sync(release.listId);
      }
      return reply.status(201).send({ release: releaseView(result, true), activated });
    },
  );

  app.get<{ Params: { listId: string } }>(
    '/v1/lists/:listId/releases',
    { onRequest: app.guard('hotline'), schema: { summary: 'Releases of a list, newest first (the history)', tags, security, params: Type.Object({ listId: ListIdParam }), response: { 200: Type.Object({ releases: Type.Array(ReleaseView) }), ...errorResponses } } },
    async (request) => {
      await store.requireList(request.params.listId);
      return { releases: (await store.listReleases(request.params.listId)).map((r) => releaseView(r)) };
    },
  );

  app.get<{ Params: { listId: string; releaseId: string } }>(
    '/v1/lists/:listId/releases/:releaseId',
    { onRequest: app.guard('hotline'), schema: { summary: 'One release, with its malformed lines', tags, security, params: Type.Object({ listId: ListIdParam, releaseId: Type.String({ maxLength: 128 }) }), response: { 200: ReleaseView, ...errorResponses } } },
    async (request) => releaseView(await store.getRelease(request.params.listId, request.params.releaseId), true),
  );

  app.post<{ Params: { listId: string; releaseId: string } }>(
    '/v1/lists/:listId/releases/:releaseId/activate',
    { onRequest: app.guard('hotline'), schema: { summary: 'Activate a ready release (atomic)', tags, security, params: Type.Object({ listId: ListIdParam, releaseId: Type.String({ maxLength: 128 }) }), response: { 200: ReleaseView, ...errorResponses } } },
    async (request) => {
      const { release } = await store.activate(request.params.listId, request.params.releaseId, by(request.principal));
      opts.notify(request.params.listId);
      await engine.sync(request.params.listId);
      return releaseView(release);
    },
  );

  app.delete<{ Params: { listId: string; releaseId: string } }>(
    '/v1/lists/:listId/releases/:releaseId',
    { onRequest: app.guard('hotline'), schema: { summary: 'Discard a release that was never activated', tags, security, params: Type.Object({ listId: ListIdParam, releaseId: Type.String({ maxLength: 128 }) }), response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await store.discardRelease(request.params.listId, request.params.releaseId);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { listId: string }; Body: Static<typeof ChangesBody> }>(
    '/v1/lists/:listId/changes',
    {
      onRequest: app.guard('hotline'),
      schema: {
        summary: 'Add or retract single hashes (a small delta release, activated at once)',
        description: `At most ${opts.maxChangeItems} entries. Every entry is validated first: one bad entry refuses the request and nothing is applied.`,
        tags,
        security,
        params: Type.Object({ listId: ListIdParam }),
        body: ChangesBody,
        response: { 200: Type.Object({ release: ReleaseView }), ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const entries: ListEntry[] = [];
      const reasons: string[] = [];
      const check = (where: string, type: HashType, hash: string): boolean => {
        if (!isHashType(type) || !isValidHashHex(type, hash)) {
          reasons.push(`${where}: a ${type} hash is ${isHashType(type) ? HASH_BYTES[type] * 2 : '?'} hex digits`);
          return false;
        }
        return true;
      };
      (b.retract ?? []).forEach((e, i) => {
        if (check(`/retract/${i}`, e.type, e.hash)) entries.push({ op: 'retract', type: e.type, hash: e.hash.toLowerCase() });
      });
      (b.add ?? []).forEach((e, i) => {
        if (e.category !== undefined && !isCategory(e.category)) reasons.push(`/add/${i}/category must be a lower-case slug`);
        if (e.series !== undefined && !isSeriesId(e.series)) reasons.push(`/add/${i}/series must be letters, digits, . _ : -`);
        if (check(`/add/${i}`, e.type, e.hash)) entries.push({ op: 'add', type: e.type, hash: e.hash.toLowerCase(), category: e.category, series: e.series });
      });
      if (reasons.length > 0) throw new HashCheckError(ErrorCode.VALIDATION, `${reasons.length} invalid entries; nothing was applied`, { details: reasons.slice(0, 100) });
      if (entries.length === 0) throw new HashCheckError(ErrorCode.VALIDATION, 'nothing to add or retract');
      if (entries.length > opts.maxChangeItems) throw new HashCheckError(CheckCode.TOO_MANY_ITEMS, `${entries.length} entries; at most ${opts.maxChangeItems} per request (import a delta release for more)`, { statusCode: 400 });
      const list = await store.requireList(request.params.listId);
      if (list.status === 'retired') throw new HashCheckError(CheckCode.LIST_RETIRED, `list ${list._id} is retired`, { statusCode: 409 });
      const written = await writeEntries(store, list._id, entries, by(request.principal), opts.chunkSize, b.note);
      const { release } = await store.activate(list._id, written._id, by(request.principal));
      opts.notify(list._id);
      await engine.sync(list._id);
      return { release: releaseView(release) };
    },
  );

}
