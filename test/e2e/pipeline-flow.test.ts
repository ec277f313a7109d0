import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { createEvent, RemovalsReported, Topics, type CasesClosedData, type EventEnvelope, type NoticesSentData, type ReportsMatchedData } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { createKafka, EventProducer } from '@hashcheck/kafka';
import { codec } from '@hashcheck/runtime';
import { infra, TopicRecorder, waitFor } from '@hashcheck/testing';
import {
  ADMIN_KEY, bootEnforcement, bootHashCheck, bootIntake, bootNotification, HOTLINE_KEY, isolation, Partner, rewindAll, SERVICE_ADMIN_KEY, submitted, waitAllCaughtUp,
} from './pipeline-harness';

const WEBHOOK_SECRET = 'e2e-provider-webhook-secret-0123';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

interface Received { headers: IncomingMessage['headers']; body: Buffer; signatureOk: boolean }

/** The provider's side: a webhook that checks the HMAC signature as docs tell providers to. */
async function providerWebhook() {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const parts = Object.fromEntries(String(req.headers['hashcheck-signature'] ?? '').split(',').map((kv) => kv.split('=') as [string, string]));
      const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${parts.t}.`).update(body).digest();
      const given = Buffer.from(parts.v1 ?? '', 'hex');
      const signatureOk = given.length === expected.length && timingSafeEqual(given, expected);
      received.push({ headers: req.headers, body, signatureOk });
      res.writeHead(signatureOk ? 202 : 401, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/abuse`, received, close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }) };
}

interface Status { status: string; caseId: string; pipeline: { check: { state: string }; notices: unknown[]; case: { state: string; outcome?: string } } }

test('the whole path: partner report -> intake -> hash-check -> notification (signed webhook) -> enforcement -> removal closes the case; a replay of every topic changes nothing', async (t) => {
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const topic = (base: string) => iso.prefix + base;
  const webhook = await providerWebhook();
  t.after(() => webhook.close());
  const apps: App[] = [];
  const bootAll = async () => {
    const intake = (await bootIntake(env, iso)).app;
    apps.push(intake, await bootHashCheck(env, iso), await bootNotification(env, iso), await bootEnforcement(env, iso));
    return { intake, hashCheck: apps.at(-3)! };
  };
  // Side by side: each close waits for its consumers to leave their groups (seconds each).
  const closeAll = async () => { await Promise.all(apps.splice(0).map((a) => a.close())); };
  t.after(closeAll);
  t.after(async () => {
    const m = new MongoClient(env.mongoUri);
    await m.connect();
    for (const s of ['intake', 'hash_check', 'notification', 'enforcement']) await m.db(`${iso.dbBase}_${s}`.slice(0, 60)).dropDatabase().catch(() => undefined);
    await m.close();
  });
  let { intake, hashCheck } = await bootAll();
  const recorder = await new TopicRecorder(env.brokers).start(
    [Topics.reportsAccepted, Topics.reportsRejected, Topics.reportsMatched, Topics.reportsUnmatched, Topics.noticesSent, Topics.noticesFailed, Topics.casesClosed, Topics.deadLetter].map(topic),
  );
  t.after(() => recorder.stop());

  // The registry: a provider with a signed webhook. Hash-check: a list with the matching hash.
  const provider = await intake.inject({
    method: 'POST', url: '/v1/providers', headers: { authorization: `Bearer ${ADMIN_KEY}` },
    payload: { id: 'flow-hosting', name: 'Flow Hosting', country: 'NL', abuseContacts: [], webhook: { url: webhook.url, secret: WEBHOOK_SECRET }, domains: ['flow-hosting.example'], ipRanges: [], category: 'hosting-nl' },
  });
  assert.equal(provider.statusCode, 201, provider.body);
  const admin = { authorization: `Bearer ${SERVICE_ADMIN_KEY}` };
  const known = md5('known content');
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'e2e-list', name: 'E2E list', source: 'hotline', category: 'csam-a', owner: 'e2e' } })).statusCode, 201);
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists/e2e-list/changes', headers: admin, payload: { add: [{ type: 'md5', hash: known }] } })).statusCode, 200);
  await waitFor(async () => (await hashCheck.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'md5', hash: known }] } })).json().results?.[0]?.match === true, { what: 'the list live in hash-check' });

  // The partner's batch: a matching report, a non-matching one, a duplicate, an invalid one, junk.
  const partner = new Partner(env.brokers, topic(Topics.reportsSubmitted));
  t.after(() => partner.close());
  const hit = submitted({ reportId: 'flow:1', source: 'partner-a', url: 'https://cdn.flow-hosting.example/x.jpg', hashes: { md5: known } });
  const miss = submitted({ reportId: 'flow:2', source: 'partner-a', url: 'https://cdn.flow-hosting.example/y.jpg', hashes: { md5: md5('other content') } });
  const invalid = submitted({ reportId: 'flow:3', source: 'partner-a', url: 'https://cdn.flow-hosting.example/z.jpg', hashes: { md5: 'nothex' } });
  await partner.send([...[hit, miss, hit, invalid].map((e) => ({ key: e.subject, value: JSON.stringify(e) })), { key: 'junk', value: Buffer.from('not json') }]);

  const [matched] = await recorder.waitForCount(topic(Topics.reportsMatched), 1, 60_000);
  await recorder.waitForCount(topic(Topics.reportsUnmatched), 1, 60_000);
  await recorder.waitForCount(topic(Topics.reportsRejected), 1, 60_000);
  await recorder.waitForCount(topic(Topics.deadLetter), 1, 60_000);
  const m = matched!.json<EventEnvelope<ReportsMatchedData>>().data;
  assert.equal(m.reportId, 'flow:1');
  assert.equal(m.providerId, 'flow-hosting');
  assert.deepEqual(m.matches.map((x) => [x.listId, x.hashType, x.distance]), [['e2e-list', 'md5', 0]]);

  // Notification: one signed webhook notice for the matched report, then notices.sent.
  const [sent] = await recorder.waitForCount(topic(Topics.noticesSent), 1, 60_000);
  const notice = sent!.json<EventEnvelope<NoticesSentData>>().data;
  assert.equal(notice.providerId, 'flow-hosting');
  assert.equal(notice.channel, 'webhook');
  assert.deepEqual(notice.items.map((i) => [i.reportId, i.caseId]), [['flow:1', m.caseId]]);
  const delivered = webhook.received.filter((r) => r.signatureOk);
  assert.equal(delivered.length, 1, 'one notice, signed with the secret given to the registry (encrypted on the topic, decrypted by notification)');
  assert.equal(notice.deliveryProof.payloadSha256, createHash('sha256').update(delivered[0]!.body).digest('hex'));

  // Intake knows where the report is.
  const hot = { authorization: `Bearer ${HOTLINE_KEY}` };
  const notified = await waitFor(async () => {
    const s = (await intake.inject({ method: 'GET', url: '/v1/reports/flow:1', headers: hot })).json<Status>();
    return s.pipeline.check.state === 'matched' && s.pipeline.notices.length === 1 ? s : undefined;
  }, { what: 'intake status: matched and notified' });
  assert.equal(notified.caseId, m.caseId);
  assert.equal((await intake.inject({ method: 'GET', url: '/v1/reports/flow:2', headers: hot })).json<Status>().pipeline.check.state, 'unmatched');

  // A re-check partner sees the content gone: enforcement closes the case, intake learns it.
  const producer = new EventProducer(createKafka({ brokers: env.brokers, clientId: 'e2e-recheck' }), codec, iso.prefix);
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.publish(Topics.removalsReported, [createEvent(RemovalsReported, { subject: m.caseId, source: 'recheck-partner', data: { caseId: m.caseId, observedAt: new Date().toISOString(), status: 'removed', reporter: 'recheck-partner' } })]);
  const [closed] = await recorder.waitForCount(topic(Topics.casesClosed), 1, 60_000);
  const c = closed!.json<EventEnvelope<CasesClosedData>>().data;
  assert.equal(c.caseId, m.caseId);
  assert.equal(c.outcome, 'removed');
  await waitFor(async () => ((await intake.inject({ method: 'GET', url: '/v1/reports/flow:1', headers: hot })).json<Status>().pipeline.case.state === 'closed' ? true : undefined), { what: 'intake status: closed' });

  // Replay everything: stop all four, rewind every consumer group to offset 0, start again.
  await new Promise((r) => setTimeout(r, 1500));
  const counts = () => Object.fromEntries([Topics.reportsAccepted, Topics.reportsRejected, Topics.reportsMatched, Topics.reportsUnmatched, Topics.noticesSent, Topics.noticesFailed, Topics.casesClosed, Topics.deadLetter].map((x) => [x, recorder.on(topic(x)).length]));
  const before = counts();
  const webhooksBefore = webhook.received.length;
  await closeAll();
  const groups = await rewindAll(partner.kafka, iso.prefix);
  assert.ok(groups.length >= 6, `rewound ${groups.join(', ')}`);
  ({ intake, hashCheck } = await bootAll());
  await waitAllCaughtUp(partner.kafka, groups);
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(counts(), before, 'a replay of every topic publishes nothing new');
  assert.equal(webhook.received.length, webhooksBefore, 'and sends no notice again');
});
