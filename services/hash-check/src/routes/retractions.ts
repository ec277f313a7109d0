import type { FastifyInstance } from 'fastify';
import { Type } from '@hashcheck/config';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import type { HashType } from '@hashcheck/hash-index';
import type { ListEntry } from '../domain/list-file';
import type { ListEngine } from '../engine/list-engine';
import { writeEntries } from '../engine/release-writer';
import type { ListStore } from '../store/lists';
import type { ReportCheckStore } from '../store/reports';
import type { RetractionDoc, RetractionStore } from '../store/retractions';
import { errorResponses } from './schemas';

const View = Type.Object({
  requestId: Type.String(),
  status: Type.String(),
  receivedAt: Type.String(),
  request: Type.Unknown(),
  decidedAt: Type.Optional(Type.String()),
  decidedBy: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  releases: Type.Optional(Type.Array(Type.String())),
});

function view(d: RetractionDoc): Record<string, unknown> {
  return {
    requestId: d._id,
    status: d.status,
    receivedAt: d.receivedAt.toISOString(),
    request: d.request,
    ...(d.decidedAt ? { decidedAt: d.decidedAt.toISOString() } : {}),
    ...(d.decidedBy ? { decidedBy: d.decidedBy } : {}),
    ...(d.note !== undefined ? { note: d.note } : {}),
    ...(d.releases ? { releases: d.releases } : {}),
  };
}

export interface RetractionRoutesOptions {
  retractions: RetractionStore;
  store: ListStore;
  engine: ListEngine;
  checks: ReportCheckStore;
  chunkSize: number;
  /** Wakes the outbox relay for the list whose document just queued an event. */
  notify: (listId: string) => void;
}

/**
 * Upheld false-positive disputes from enforcement, reviewed by the hotline: approving retracts the
 * hash from the lists that hold it (one delta release per list, history kept); rejecting keeps it.
 */
export async function retractionRoutes(app: FastifyInstance, opts: RetractionRoutesOptions): Promise<void> {
  const tags = ['retractions'];
  const security = [{ bearer: [] }];
  const by = (p: { tenantId: string; keyId: string } | undefined): string => (p ? `${p.tenantId}/${p.keyId}` : 'unknown');

  app.get<{ Querystring: { status?: 'pending' | 'approved' | 'rejected' } }>(
    '/v1/retraction-requests',
    {
      onRequest: app.guard('hotline'),
      schema: { summary: 'Retraction requests (default: all, newest first)', tags, security, querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')])) }, { additionalProperties: false }), response: { 200: Type.Object({ requests: Type.Array(View) }), ...errorResponses } },
    },
    async (request) => ({ requests: (await opts.retractions.list(request.query.status)).map(view) }),
  );

  app.post<{ Params: { requestId: string }; Body: { decision: 'approve' | 'reject'; note?: string } }>(
    '/v1/retraction-requests/:requestId/decision',
    {
      onRequest: app.guard('hotline'),
      schema: {
        summary: 'Approve (retract the hash) or reject a retraction request',
        tags,
        security,
        params: Type.Object({ requestId: Type.String({ minLength: 1, maxLength: 200 }) }),
        body: Type.Object({ decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]), note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
        response: { 200: View, ...errorResponses },
      },
    },
    async (request) => {
      const doc = await opts.retractions.get(request.params.requestId);
      // Before anything is written: approving a request already decided (rejected, say) retracted
      // its hashes from the live lists, and only the final status update answered 409.
      if (doc.status !== 'pending') throw new HashCheckError(ErrorCode.CONFLICT, `retraction request ${doc._id} was decided already (${doc.status})`);
      const who = by(request.principal);
      if (request.body.decision === 'reject') return view(await opts.retractions.decide(doc._id, 'rejected', who, request.body.note, []));
      // Which (list, type, hash) to retract: the hash named in the request, or the exact matches of the case's reports.
      const targets = new Map<string, ListEntry[]>();
      const push = (listId: string, type: HashType, hash: string): void => {
        const list = targets.get(listId) ?? [];
        if (!list.some((e) => e.type === type && e.hash === hash)) list.push({ op: 'retract', type, hash });
        targets.set(listId, list);
      };
      const r = doc.request;
      if (r.hashType !== undefined && r.hash !== undefined) {
        const lists = r.listId !== undefined ? [r.listId] : (opts.engine.match(r.hashType, r.hash) ?? []).filter((m) => m.distance === 0).map((m) => m.list);
        for (const l of lists) push(l, r.hashType, r.hash);
      } else if (r.caseId !== undefined) {
        for (const c of await opts.checks.hashesOfCase(r.caseId)) {
          for (const m of c.matches) {
            const hash = c.hashes[m.hashType];
            // A PDQ match at a distance names no stored hash; only exact matches can be retracted from here.
            if (hash !== undefined && m.distance === 0 && (r.listId === undefined || r.listId === m.listId)) push(m.listId, m.hashType, hash);
          }
        }
      }
      const releases: string[] = [];
      for (const [listId, entries] of targets) {
        const list = await opts.store.getList(listId);
        if (!list || list.status === 'retired') continue;
        const written = await writeEntries(opts.store, listId, entries, who, opts.chunkSize, `retraction request ${doc._id}`);
        await opts.store.activate(listId, written._id, who);
        opts.notify(listId);
        await opts.engine.sync(listId);
        releases.push(written._id);
      }
      return view(await opts.retractions.decide(doc._id, 'approved', who, request.body.note, releases));
    },
  );
}
