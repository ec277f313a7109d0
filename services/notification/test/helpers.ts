/**
 * Real counterparts for the notification tests: an SMTP server and webhook receivers listening on
 * TCP in the test process, and builders for the events the service consumes. Nothing here stands
 * in for Kafka or MongoDB.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createEvent, ProvidersState, ReportsMatched, type EventEnvelope, type ProvidersStateData, type ReportsMatchedData } from '@hashcheck/events';
import { encryptSecret, type SecretKey } from '@hashcheck/providers';
import type { TestContext } from 'node:test';
import type { Db } from 'mongodb';
import { connectMongo, ensureIndexes } from '@hashcheck/mongo';
import { databaseUri, infra, randomName } from '@hashcheck/testing';
import { INDEXES } from '../src/store/collections';

export const SECRET_KEY_HEX = 'a1'.repeat(32);
export const SECRET_KEY: SecretKey = { keyId: 'k1', key: Buffer.from(SECRET_KEY_HEX, 'hex') };

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  at: Date;
}

/** A real SMTP server on 127.0.0.1. Recipients starting with "reject" get a permanent 550. */
export async function startSmtp(): Promise<{ port: number; mails: ReceivedMail[]; close: () => Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject')) {
        callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          at: new Date(),
        });
        callback(null, `queued as ${randomBytes(4).toString('hex')}`);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export interface Delivery {
  idempotencyKey: string;
  noticeId: string;
  body: Buffer;
  json: { noticeId: string; kind: string; providerId: string; sentAt: string; requestId?: string; items: Array<{ caseId?: string; url: string; deadlineAt: string; reportId: string }> };
  status: number;
  signatureOk: boolean;
  at: Date;
}

/**
 * Verifies a HashCheck webhook signature the way docs/notification.md tells providers to: an
 * independent implementation, so the service's signing is checked against the documented recipe.
 */
export function verifyAsProvider(header: string | undefined, rawBody: Buffer, secret: string, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A provider's webhook endpoint on 127.0.0.1. `answer(n)` gives the HTTP status for the n-th request
 * (1-based); a request with a bad signature always gets 401. Only requests answered 2xx count as
 * accepted deliveries.
 */
export async function startReceiver(secret: string, answer: (n: number) => number = () => 202): Promise<{
  url: string;
  port: number;
  requests: Delivery[];
  accepted: () => Delivery[];
  close: () => Promise<void>;
}> {
  const requests: Delivery[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const signatureOk = verifyAsProvider(req.headers['hashcheck-signature'] as string | undefined, body, secret);
      const status = signatureOk ? answer(requests.length + 1) : 401;
      const json = JSON.parse(body.toString('utf8')) as Delivery['json'];
      requests.push({ idempotencyKey: String(req.headers['idempotency-key']), noticeId: String(req.headers['hashcheck-notice-id']), body, json, status, signatureOk, at: new Date() });
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `rcpt-${requests.length}` });
      res.end(JSON.stringify({ ok: status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hashcheck/notices`,
    port,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export function providerEvent(p: Partial<ProvidersStateData> & { id: string }, webhookSecret?: string): EventEnvelope<ProvidersStateData> {
  const data: ProvidersStateData = {
    name: `${p.id} B.V.`,
    country: 'NL',
    abuseContacts: [],
    domains: [],
    ipRanges: [],
    category: 'hosting-nl',
    revision: 1,
    updatedAt: new Date().toISOString(),
    ...p,
  };
  if (data.webhook && webhookSecret) data.webhook = { ...data.webhook, secret: encryptSecret(webhookSecret, SECRET_KEY, p.id) };
  return createEvent(ProvidersState, { subject: p.id, source: 'intake', data });
}

export function caseKeyOf(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

export function matchedEvent(providerId: string | null, seed: string, extra: { seriesId?: string; id?: string } = {}): EventEnvelope<ReportsMatchedData> {
  const caseKey = caseKeyOf(seed);
  const reportId = `partner-a:${seed}`;
  const now = new Date().toISOString();
  return createEvent(ReportsMatched, {
    subject: reportId,
    source: 'hash-check',
    ...(extra.id ? { id: extra.id } : {}),
    data: {
      reportId,
      source: 'partner-a',
      channel: 'kafka',
      url: `https://files.example/${seed}.jpg`,
      host: 'files.example',
      providerId,
      providerResolved: providerId !== null,
      hashes: { sha256: caseKey },
      receivedAt: now,
      caseKey,
      caseId: `${caseKey}.1`,
      matches: [{ listId: 'police-nl', listName: 'Police NL', category: 'csam', hashType: 'sha256', distance: 0, ...(extra.seriesId ? { seriesId: extra.seriesId } : {}) }],
      checkedAt: now,
    },
  });
}

/** The decoded body of the MIME part whose headers mention `marker` (e.g. a file name). */
export function mimePart(raw: Buffer, marker: string): string | undefined {
  const text = raw.toString('utf8');
  const at = text.indexOf(marker);
  if (at < 0) return undefined;
  const headerStart = text.lastIndexOf('\r\n--', at);
  const bodyStart = text.indexOf('\r\n\r\n', at);
  const end = text.indexOf('\r\n--', bodyStart);
  const headers = text.slice(headerStart, bodyStart);
  const body = text.slice(bodyStart + 4, end);
  if (/content-transfer-encoding:\s*base64/i.test(headers)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) {
    return Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  return body;
}

export function sha256(buf: Buffer | string): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** A database of its own on the test stack, with the service's indexes, dropped after the test; undefined (skipped) without the stack. */
export async function testDatabase(t: TestContext, tag: string): Promise<Db | undefined> {
  const env = infra(t);
  if (!env) return undefined;
  const handle = await connectMongo(databaseUri(env.mongoUri, randomName(tag).replace(/-/g, '_')), { appName: `notification-${tag}-test` });
  await ensureIndexes(handle.db, INDEXES);
  t.after(async () => {
    await handle.db.dropDatabase();
    await handle.client.close();
  });
  return handle.db;
}
