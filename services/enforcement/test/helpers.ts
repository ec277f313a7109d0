import { createHash, randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { createEvent, NoticesFailed, NoticesSent, ProvidersState, RemovalsReported, ReportsMatched, Topics, type EventEnvelope, type RemovalsReportedData } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { randomName, TopicRecorder, waitFor, type Infra } from '@hashcheck/testing';
import { buildApp, EnforcementConfigSchema, type CaseState, type Clock } from '@hashcheck/enforcement';

export const H = 3_600_000;
export const DAY = 24 * H;

export interface Env {
  infra: Infra;
  db: string;
  prefix: string;
  adminKey: string;
}

export function newEnv(infra: Infra): Env {
  return { infra, db: randomName('enf').replace(/-/g, '_'), prefix: `${randomName('t')}.`, adminKey: randomBytes(24).toString('hex') };
}

/** Boots one enforcement instance on the env's database and topics, closed when the test ends. */
export async function startInstance(t: TestContext, env: Env, clock: Clock, extra: Record<string, string> = {}, logger?: Logger): Promise<App> {
  const config = loadConfig(EnforcementConfigSchema, {
    KAFKA_BROKERS: env.infra.brokers,
    MONGODB_URI: env.infra.mongoUri,
    MONGODB_DATABASE: env.db,
    KAFKA_TOPIC_PREFIX: env.prefix,
    ADMIN_API_KEY: env.adminKey,
    TIMER_POLL_MS: '50',
    TIMER_LEASE_MS: '1500',
    OUTBOX_POLL_MS: '500',
    LOG_LEVEL: 'silent',
    RETENTION_INTERVAL_MS: '0',
    ...extra,
  });
  const app = await buildApp(config, { logger: logger ?? pino({ level: process.env.ENFORCEMENT_TEST_LOG ?? 'silent' }), clock });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  t.after(close);
  (app as unknown as { closeOnce: () => Promise<void> }).closeOnce = close;
  await app.ready();
  return app;
}

export async function closeInstance(app: App): Promise<void> {
  await (app as unknown as { closeOnce: () => Promise<void> }).closeOnce();
}

/** Drops the test database when the test ends (topics carry a random prefix and are left to the broker). */
export function dropDatabaseAfter(t: TestContext, env: Env): void {
  t.after(async () => {
    const { MongoClient } = await import('mongodb');
    const c = new MongoClient(env.infra.mongoUri, { retryWrites: false });
    await c.connect();
    await c.db(env.db).dropDatabase().catch(() => undefined);
    await c.close();
  });
}

export async function record(t: TestContext, env: Env, topics: string[]): Promise<TopicRecorder> {
  const rec = await new TopicRecorder(env.infra.brokers).start(topics.map((x) => env.prefix + x));
  t.after(() => rec.stop());
  return rec;
}

export function topicOf(env: Env, base: string): string {
  return env.prefix + base;
}

const hex = (s: string, n: number): string => createHash('sha256').update(s).digest('hex').slice(0, n);

export interface Item {
  reportId: string;
  caseKey: string;
  caseId: string;
  url: string;
  sha256: string;
  providerId: string;
}

export function item(name: string, providerId = 'acme-hosting', sha256 = hex(`content:${name}`, 64)): Item {
  const caseKey = hex(`case:${name}:${providerId}`, 64);
  return { reportId: `r-${name}`, caseKey, caseId: `${caseKey}.1`, url: `https://files.${providerId}.example/${name}.jpg`, sha256, providerId };
}

export function matched(it: Item, at: Date): EventEnvelope {
  return createEvent(ReportsMatched, {
    source: 'hash-check',
    subject: it.reportId,
    data: {
      reportId: it.reportId, source: 'partner-a', channel: 'kafka', url: it.url, host: new URL(it.url).host, ip: '192.0.2.10',
      providerId: it.providerId, providerResolved: true, hashes: { sha256: it.sha256 }, receivedAt: at.toISOString(),
      caseKey: it.caseKey, caseId: it.caseId, matches: [{ listId: 'police-nl', listName: 'Police NL', category: 'csam-a', hashType: 'sha256', distance: 0 }],
      checkedAt: at.toISOString(),
    },
  });
}

export function noticeSent(noticeId: string, items: Item[], sentAt: Date, deadlineMs = DAY, extra: { requestId?: string; attempt?: number } = {}): EventEnvelope {
  const providerId = items[0]!.providerId;
  return createEvent(NoticesSent, {
    source: 'notification',
    subject: providerId,
    data: {
      noticeId, providerId, contact: `abuse@${providerId}.example`, channel: 'email',
      items: items.map((it) => ({ reportId: it.reportId, caseKey: it.caseKey, caseId: it.caseId, url: it.url, deadlineAt: new Date(sentAt.getTime() + deadlineMs).toISOString() })),
      sentAt: sentAt.toISOString(),
      deliveryProof: { channel: 'email', status: 'accepted', payloadSha256: hex(noticeId, 64), messageId: `<${noticeId}@hashcheck.test>`, responseCode: 250 },
      ...extra,
    },
  });
}

/** notification's notices.failed: `undeliverable` (with the items) when nobody was reached, else one channel given up. */
export function noticeFailed(noticeId: string, items: Item[], failedAt: Date, opts: { undeliverable?: boolean; channel?: 'email' | 'webhook'; reason?: string } = {}): EventEnvelope {
  const providerId = items[0]!.providerId;
  const undeliverable = opts.undeliverable ?? true;
  return createEvent(NoticesFailed, {
    source: 'notification',
    subject: providerId,
    data: {
      noticeId, providerId, channel: opts.channel ?? 'email', contact: `abuse@${providerId}.example`, reason: opts.reason ?? 'SMTP 550: no such user',
      final: true, undeliverable,
      ...(undeliverable ? { items: items.map((it) => ({ reportId: it.reportId, caseKey: it.caseKey, caseId: it.caseId, url: it.url, deadlineAt: new Date(failedAt.getTime() + DAY).toISOString() })) } : {}),
      failedAt: failedAt.toISOString(),
    },
  });
}

export function removalReported(data: RemovalsReportedData): EventEnvelope {
  return createEvent(RemovalsReported, { source: 'recheck', subject: data.caseId ?? data.reportId ?? data.url ?? 'x', data });
}

export function providerState(id: string, country: string, category: string, name = `${id} B.V.`): EventEnvelope {
  return createEvent(ProvidersState, {
    source: 'intake',
    subject: id,
    data: { id, name, country, abuseContacts: [`abuse@${id}.example`], domains: [`${id}.example`], ipRanges: [], category, revision: 1, updatedAt: new Date().toISOString() },
  });
}

export async function publish(app: App, topic: string, events: EventEnvelope[]): Promise<void> {
  await app.kafka.producer.publish(topic, events);
}

export const Publish = {
  matched: (app: App, events: EventEnvelope[]) => publish(app, Topics.reportsMatched, events),
  notices: (app: App, events: EventEnvelope[]) => publish(app, Topics.noticesSent, events),
  failures: (app: App, events: EventEnvelope[]) => publish(app, Topics.noticesFailed, events),
};

export async function caseOf(app: App, caseId: string): Promise<CaseState | undefined> {
  return app.enforcement.cases.get(caseId);
}

export async function waitForCase(app: App, caseId: string, pred: (c: CaseState) => boolean, what: string, timeoutMs = 30_000): Promise<CaseState> {
  return waitFor(async () => {
    const c = await caseOf(app, caseId);
    return c && pred(c) ? c : undefined;
  }, { timeoutMs, intervalMs: 50, what: `${what} (case ${caseId.slice(0, 12)}…)` });
}

export async function issueKey(app: App, env: Env, body: { scope: string; providerId?: string; label: string }): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: { authorization: `Bearer ${env.adminKey}` }, payload: body });
  if (res.statusCode !== 201) throw new Error(`issuing a key failed: ${res.statusCode} ${res.body}`);
  return (res.json() as { key: string }).key;
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
