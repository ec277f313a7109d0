import { Type, type Static } from '@sinclair/typebox';
import { Binary, type Db, type Filter } from 'mongodb';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { limitOf, QueryLimit, type App } from '@hashcheck/http';
import { Scope, type ApiKeyEntry } from '../domain/api-keys';
import { requireScope } from '../plugins/auth';
import { Collections, type AttemptRecord, type NoticeDocument, type PayloadDocument } from '../store/collections';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });

const AttemptView = Type.Object({
  n: Type.Integer(),
  channel: Type.String(),
  target: Type.String(),
  startedAt: DateTime,
  finishedAt: DateTime,
  outcome: Type.String({ description: 'delivered | failed' }),
  payloadSha256: Type.Optional(Type.String({ description: 'sha256 of the exact bytes sent; GET .../attempts/{n}/payload returns them' })),
  payloadBytes: Type.Optional(Type.Integer()),
  httpStatus: Type.Optional(Type.Integer()),
  receipt: Type.Optional(Type.String()),
  responseSha256: Type.Optional(Type.String()),
  responseSnippet: Type.Optional(Type.String()),
  smtpResponse: Type.Optional(Type.String()),
  smtpCode: Type.Optional(Type.Integer()),
  messageId: Type.Optional(Type.String()),
  accepted: Type.Optional(Type.Array(Type.String())),
  rejected: Type.Optional(Type.Array(Type.String())),
  error: Type.Optional(Type.String()),
  retriable: Type.Optional(Type.Boolean()),
});

const NoticeView = Type.Object({
  noticeId: Type.String(),
  kind: Type.String({ description: 'initial | renotice' }),
  providerId: Nullable(Type.String()),
  requestId: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  state: Type.String({ description: 'pending | sent | undeliverable | cancelled (every case closed before delivery; nothing sent)' }),
  createdAt: DateTime,
  updatedAt: DateTime,
  nextAttemptAt: Nullable(DateTime),
  channel: Nullable(Type.String()),
  sentAt: Type.Optional(DateTime),
  deliveredVia: Type.Optional(Type.String()),
  contact: Type.Optional(Type.String()),
  undeliverableReason: Type.Optional(Type.String()),
  cancelledReason: Type.Optional(Type.String()),
  droppedItems: Type.Optional(Type.Array(Type.Object({
    reportId: Type.String(),
    caseKey: Type.String(),
    caseId: Type.Optional(Type.String()),
    url: Type.String(),
    closedOutcome: Type.String({ description: 'removed | false-positive | withdrawn' }),
    droppedAt: DateTime,
  }), { description: 'items taken out before delivery because their case closed; never sent' })),
  items: Type.Array(Type.Object({
    reportId: Type.String(),
    caseKey: Type.String(),
    caseId: Type.Optional(Type.String()),
    url: Type.String(),
    deadlineAt: Type.Optional(DateTime),
  })),
  attempts: Type.Array(AttemptView),
  failures: Type.Array(Type.Object({ channel: Type.String(), reason: Type.String(), at: DateTime, final: Type.Boolean(), undeliverable: Type.Boolean() })),
});
type NoticeViewValue = Static<typeof NoticeView>;

const NoticeParams = Type.Object({ noticeId: Type.String({ minLength: 1, maxLength: 200 }) });
const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });

function iso(d: Date): string {
  return d.toISOString();
}

function attemptView(a: AttemptRecord): Static<typeof AttemptView> {
  return { ...a, startedAt: iso(a.startedAt), finishedAt: iso(a.finishedAt) };
}

export function noticeView(n: NoticeDocument): NoticeViewValue {
  return {
    noticeId: n._id,
    kind: n.kind,
    providerId: n.providerId,
    ...(n.requestId ? { requestId: n.requestId } : {}),
    ...(n.reason ? { reason: n.reason } : {}),
    state: n.state,
    createdAt: iso(n.createdAt),
    updatedAt: iso(n.updatedAt),
    nextAttemptAt: n.nextAttemptAt ? iso(n.nextAttemptAt) : null,
    channel: n.channel,
    ...(n.sentAt ? { sentAt: iso(n.sentAt) } : {}),
    ...(n.deliveredVia ? { deliveredVia: n.deliveredVia } : {}),
    ...(n.contact ? { contact: n.contact } : {}),
    ...(n.undeliverableReason ? { undeliverableReason: n.undeliverableReason } : {}),
    ...(n.cancelledReason ? { cancelledReason: n.cancelledReason } : {}),
    ...(n.droppedItems?.length
      ? { droppedItems: n.droppedItems.map((it) => ({ reportId: it.reportId, caseKey: it.caseKey, ...(it.caseId ? { caseId: it.caseId } : {}), url: it.url, closedOutcome: it.closedOutcome, droppedAt: iso(it.droppedAt) })) }
      : {}),
    items: n.items.map((it) => ({ reportId: it.reportId, caseKey: it.caseKey, ...(it.caseId ? { caseId: it.caseId } : {}), url: it.url, ...(it.deadlineAt ? { deadlineAt: iso(it.deadlineAt) } : {}) })),
    attempts: n.attempts.map(attemptView),
    failures: n.failures.map((f) => ({ ...f, at: iso(f.at) })),
  };
}

/** Case officers read notices, their state and the proof of every delivery attempt. */
export async function noticeRoutes(app: App, opts: { db: Db; keys: readonly ApiKeyEntry[] }): Promise<void> {
  const notices = opts.db.collection<NoticeDocument>(Collections.NOTICES);
  const payloads = opts.db.collection<PayloadDocument>(Collections.PAYLOADS);
  const guard = requireScope(opts.keys, Scope.CASE_OFFICER);
  const security = [{ bearer: [] }];

  app.get('/v1/notices/:noticeId', {
    preValidation: guard,
    schema: {
      summary: 'A notice with its items, state and proof of delivery per attempt',
      tags: ['notices'],
      security,
      params: NoticeParams,
      response: { 200: NoticeView, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => {
    const n = await notices.findOne({ _id: request.params.noticeId }, { projection: { outbox: 0 } });
    if (!n) throw new HashCheckError(ErrorCode.NOT_FOUND, `no notice ${request.params.noticeId}`);
    return noticeView(n);
  });

  app.get('/v1/notices', {
    preValidation: guard,
    schema: {
      summary: 'Notices by case, provider or state, newest first',
      tags: ['notices'],
      security,
      querystring: Type.Object({
        caseId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        providerId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('undeliverable'), Type.Literal('cancelled')])),
        limit: QueryLimit(200, 50),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ notices: Type.Array(NoticeView) }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
    },
  }, async (request) => {
    const q = request.query;
    if (!q.caseId && !q.providerId && !q.state) throw new HashCheckError(ErrorCode.VALIDATION, 'give caseId, providerId or state');
    const filter: Filter<NoticeDocument> = {
      // A case dropped from a notice before delivery still finds that notice.
      ...(q.caseId ? { $or: [{ 'items.caseId': q.caseId }, { 'droppedItems.caseId': q.caseId }] } : {}),
      ...(q.providerId ? { providerId: q.providerId } : {}),
      ...(q.state ? { state: q.state } : {}),
    };
    const list = await notices.find(filter, { projection: { outbox: 0 } }).sort({ createdAt: -1 }).limit(limitOf(q.limit, 200, 50)).toArray();
    return { notices: list.map(noticeView) };
  });

  app.get('/v1/notices/:noticeId/attempts/:n/payload', {
    preValidation: guard,
    schema: {
      summary: 'The exact bytes sent in one attempt (webhook JSON body or the whole e-mail message)',
      description: 'The X-Payload-Sha256 header repeats the hash recorded in the proof of delivery.',
      tags: ['notices'],
      security,
      params: Type.Object({ noticeId: Type.String({ minLength: 1, maxLength: 200 }), n: Type.String({ pattern: '^[1-9][0-9]{0,5}$', description: 'attempt number, from 1' }) }),
      produces: ['application/json', 'message/rfc822'],
      response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (request, reply) => {
    // The bytes of the recorded attempt n: a try whose attempt was never recorded (its sender
    // stopped after sending) is kept under the same n with another hash, and is not this attempt.
    const n = Number(request.params.n);
    const notice = await notices.findOne({ _id: request.params.noticeId }, { projection: { attempts: 1 } });
    const sha256 = notice?.attempts.find((a) => a.n === n)?.payloadSha256;
    const p = sha256 ? await payloads.findOne({ noticeId: request.params.noticeId, n, sha256 }) : null;
    if (!p) throw new HashCheckError(ErrorCode.NOT_FOUND, `no payload for attempt ${request.params.n} of notice ${request.params.noticeId}`);
    const stored = p.bytes as unknown;
    const bytes = stored instanceof Binary ? Buffer.from(stored.buffer) : Buffer.from(stored as Uint8Array);
    // The schema lists only error bodies; the payload is raw bytes, so the typed send is bypassed.
    return reply.header('content-type', p.contentType).header('x-payload-sha256', p.sha256).send(bytes as never);
  });
}
