/**
 * Scale, tested, for notification: two instances in one consumer group share the partitions of
 * reports.matched, and both seal and send from the same database. When one goes away under load
 * (closed, or SIGKILLed as its own process) the other takes its partitions, seals the items it
 * left waiting and sends the notices it held: every report ends as exactly one notice item, in
 * exactly one notice, accepted by the provider's webhook once.
 *
 * Counted at the webhook receivers (the providers' side). After a SIGKILL the one repeat that is
 * allowed is a delivery the dead instance had sent but not recorded: it goes out again with the
 * same notice id and idempotency key when its lease runs out, which the provider dedupes by that
 * key (docs/notification.md). A second notice for the same report, or one notice under two
 * idempotency keys, fails the test in both modes.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { createEvent, ProvidersState, ReportsMatched, Topics, type EventEnvelope, type ProvidersStateData, type ReportsMatchedData } from '@hashcheck/events';
import { encryptSecret, parseSecretKeys } from '@hashcheck/providers';
import { groupId } from '@hashcheck/runtime';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { baseEnv, bootNotification, isolation, PROVIDER_SECRET_KEY, waitCaughtUp } from '../e2e/pipeline-harness';
import { adminKafka, assignment, committedPartitions, scaleEnabled, sleep, spawnService, waitShared } from './scale-harness';

const N = 180;
const BATCH = 15;
const PROVIDERS = ['scale-host-a', 'scale-host-b', 'scale-host-c', 'scale-host-d'];
const PARTITIONS = 6;
/** Short lease: a SIGKILLed holder's notice is picked up again after 5 s, not the default 2 min. */
const VARS: Record<string, string> = { NOTICE_LEASE_MS: '5000', WEBHOOK_TIMEOUT_MS: '2000', SMTP_TIMEOUT_MS: '1000', NOTICE_WINDOW_MS: '300', NOTICE_POLL_MS: '50' };

interface Delivery {
  provider: string;
  noticeId: string;
  idempotencyKey: string;
  items: Array<{ reportId: string; caseId?: string }>;
  signatureOk: boolean;
}

/** One webhook endpoint per provider (the path names it), verifying signatures as a provider would. */
async function startReceivers(secrets: Record<string, string>) {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const provider = (req.url ?? '').split('/')[2] ?? '';
      const body = Buffer.concat(chunks);
      const header = String(req.headers['hashcheck-signature'] ?? '');
      const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
      const expected = createHmac('sha256', secrets[provider] ?? '').update(`${parts.t}.`).update(body).digest();
      const given = Buffer.from(parts.v1 ?? '', 'hex');
      const signatureOk = given.length === expected.length && timingSafeEqual(given, expected);
      const json = JSON.parse(body.toString('utf8')) as { noticeId: string; items: Delivery['items'] };
      deliveries.push({ provider, noticeId: json.noticeId, idempotencyKey: String(req.headers['idempotency-key']), items: json.items, signatureOk });
      res.writeHead(signatureOk ? 202 : 401, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (provider: string) => `http://127.0.0.1:${port}/hooks/${provider}`,
    deliveries,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function providerEvent(id: string, url: string, secret: string): EventEnvelope<ProvidersStateData> {
  const [key] = parseSecretKeys(PROVIDER_SECRET_KEY);
  assert.ok(key);
  return createEvent(ProvidersState, {
    subject: id,
    source: 'intake',
    data: {
      id, name: `${id} B.V.`, country: 'NL', abuseContacts: [], domains: [`${id}.example`], ipRanges: [], category: 'hosting-nl', revision: 1,
      updatedAt: new Date().toISOString(), webhook: { url, secret: encryptSecret(secret, key, id) },
    },
  });
}

function matched(run: string, i: number): EventEnvelope<ReportsMatchedData> {
  const caseKey = createHash('sha256').update(`${run}:${i}`).digest('hex');
  const providerId = PROVIDERS[i % PROVIDERS.length] ?? null;
  const reportId = `${run}:${i}`;
  const now = new Date().toISOString();
  return createEvent(ReportsMatched, {
    subject: reportId,
    source: 'hash-check',
    data: {
      reportId, source: 'scale', channel: 'kafka', url: `https://files.${providerId}.example/${run}/${i}.jpg`, host: `files.${providerId}.example`,
      providerId, providerResolved: true, hashes: { sha256: caseKey }, receivedAt: now, caseKey, caseId: `${caseKey}.1`,
      matches: [{ listId: 'police-nl', listName: 'Police NL', category: 'csam', hashType: 'sha256', distance: 0 }], checkedAt: now,
    },
  });
}

/** The scenario, with instance A closed in this process or SIGKILLed as its own process. */
export async function notificationScenario(t: TestContext, mode: 'closed' | 'killed'): Promise<void> {
  if (!scaleEnabled(t)) return;
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const run = randomName(`nt-${mode}`);
  const topic = (base: string) => iso.prefix + base;
  const secrets = Object.fromEntries(PROVIDERS.map((p) => [p, `whsec-${p}-${run}`]));
  const receivers = await startReceivers(secrets);
  t.after(() => receivers.close());

  // Instance B in this process; the providers are in the registry before A starts, so A (in
  // this process or its own) reads them from the compacted topic at boot.
  const b = await bootNotification(env, iso, VARS);
  t.after(() => b.close());
  await b.kafka.producer.publish(Topics.providers, PROVIDERS.map((p) => providerEvent(p, receivers.url(p), secrets[p] ?? '')));
  await waitFor(() => PROVIDERS.every((p) => b.providers.get(p) !== undefined), { timeoutMs: 30_000, what: 'the providers in the registry view' });

  let stopA: () => Promise<void>;
  if (mode === 'closed') {
    const a = await bootNotification(env, iso, VARS);
    let closed = false;
    stopA = async () => { if (!closed) { closed = true; await a.close(); } };
    t.after(stopA);
  } else {
    const a = await spawnService('notification', { ...baseEnv(env, iso, 'notification'), ...VARS, PROVIDER_SECRET_KEY, WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1/32' });
    stopA = a.kill;
    t.after(a.kill);
  }

  const mongo = new MongoClient(env.mongoUri);
  await mongo.connect();
  const db = mongo.db(`${iso.dbBase}_notification`.slice(0, 60));
  t.after(async () => { await db.dropDatabase().catch(() => undefined); await mongo.close(); });
  const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.noticesSent)]);
  t.after(() => recorder.stop());
  const kafka = adminKafka(env.brokers);
  const group = groupId({ KAFKA_TOPIC_PREFIX: iso.prefix }, 'notification', 'notices');
  const matchedTopic = topic(Topics.reportsMatched);

  const shared = await waitShared(kafka, group, matchedTopic, PARTITIONS);
  t.diagnostic(`reports.matched partitions per member: ${shared.join('/')}`);

  const started = Date.now();
  for (let i = 0; i < N; i += BATCH) {
    if (i === BATCH * Math.floor(N / BATCH / 3)) {
      // A has done its share before it goes: the group committed on every partition while A held
      // half of them, and the providers' endpoints have accepted notices already.
      await waitFor(async () => (await committedPartitions(kafka, group, matchedTopic)) === PARTITIONS, { timeoutMs: 60_000, intervalMs: 200, what: 'commits on every partition' });
      await waitFor(() => receivers.deliveries.length > 0, { timeoutMs: 60_000, what: 'the first notices delivered' });
      await stopA();
      t.diagnostic(`instance A ${mode} after ${i} reports were published (${receivers.deliveries.length} deliveries so far)`);
    }
    await b.kafka.producer.publish(Topics.reportsMatched, Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => matched(run, i + k)));
    await sleep(50);
  }

  await waitFor(async () => {
    const a = await assignment(kafka, group, matchedTopic);
    return a.length === 1 && a[0] === PARTITIONS;
  }, { timeoutMs: 90_000, intervalMs: 500, what: 'the remaining instance to own every partition' });
  await waitCaughtUp(kafka, group, matchedTopic, 120_000);

  const reportsIn = () => {
    const byReport = new Map<string, Set<string>>();
    for (const d of receivers.deliveries) {
      if (!d.signatureOk) continue;
      for (const it of d.items) {
        if (!it.reportId.startsWith(`${run}:`)) continue;
        const s = byReport.get(it.reportId) ?? new Set<string>();
        s.add(d.noticeId);
        byReport.set(it.reportId, s);
      }
    }
    return byReport;
  };
  // A SIGKILLed holder's notices come back after its lease (5 s) and a backoff.
  await waitFor(() => reportsIn().size === N, { timeoutMs: 90_000, intervalMs: 500, what: 'every report delivered in a notice' }).catch(() => undefined);
  // Anything that would be sent twice has had time to be.
  await sleep(Number(VARS.NOTICE_LEASE_MS) + 1500);

  const byReport = reportsIn();
  const missing = Array.from({ length: N }, (_, i) => `${run}:${i}`).filter((r) => !byReport.has(r));
  assert.deepEqual(missing, [], 'every report reaches its provider');
  assert.deepEqual([...byReport].filter(([, notices]) => notices.size !== 1).map(([r]) => r), [], 'each report is in exactly one notice');
  assert.deepEqual(receivers.deliveries.filter((d) => !d.signatureOk).map((d) => d.noticeId), [], 'every delivery is signed with its provider\'s secret');

  const keysByNotice = new Map<string, Set<string>>();
  const timesByNotice = new Map<string, number>();
  for (const d of receivers.deliveries) {
    keysByNotice.set(d.noticeId, (keysByNotice.get(d.noticeId) ?? new Set<string>()).add(d.idempotencyKey));
    timesByNotice.set(d.noticeId, (timesByNotice.get(d.noticeId) ?? 0) + 1);
    assert.ok(d.items.every((it) => PROVIDERS[Number(it.reportId.split(':').pop()) % PROVIDERS.length] === d.provider), 'each notice goes to the provider of its reports');
  }
  assert.deepEqual([...keysByNotice].filter(([, k]) => k.size !== 1).map(([n]) => n), [], 'a notice keeps one idempotency key');
  const repeated = [...timesByNotice].filter(([, n]) => n > 1);
  t.diagnostic(`${N} reports in ${Date.now() - started} ms: ${timesByNotice.size} notices, ${receivers.deliveries.length} deliveries, ${repeated.length} repeated with the same idempotency key`);
  if (mode === 'closed') assert.deepEqual(repeated, [], 'after a clean leave no notice is sent twice');
  else assert.ok(repeated.every(([, n]) => n === 2), 'after a SIGKILL a notice the dead instance had in flight is sent again at most once');

  // The service's own records agree with what the providers saw.
  const items = await db.collection<{ reportId: string; noticeId: string | null }>('notice_items').find({ reportId: { $regex: `^${run}:` } }).toArray();
  assert.equal(items.length, N, 'one notice item per report');
  assert.deepEqual(items.filter((it) => !it.noticeId).map((it) => it.reportId), [], 'every item is in a notice');
  assert.equal(await db.collection('notices').countDocuments({}), timesByNotice.size, 'the notices stored are the notices delivered');
  await waitFor(() => new Set(recorder.on(topic(Topics.noticesSent)).map((m) => m.json<{ data: { noticeId: string } }>().data.noticeId)).size === timesByNotice.size, {
    timeoutMs: 30_000,
    what: 'notices.sent for every notice',
  });
  const sentEvents = recorder.on(topic(Topics.noticesSent)).map((m) => m.json<{ id: string; data: { noticeId: string } }>());
  const eventIdsByNotice = new Map<string, Set<string>>();
  for (const e of sentEvents) eventIdsByNotice.set(e.data.noticeId, (eventIdsByNotice.get(e.data.noticeId) ?? new Set<string>()).add(e.id));
  assert.deepEqual([...eventIdsByNotice].filter(([, ids]) => ids.size !== 1).map(([n]) => n), [], 'one notices.sent event per notice (a relay repeat keeps its id)');
}
