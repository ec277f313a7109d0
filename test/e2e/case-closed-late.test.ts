import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { CasesClosed, createEvent, Topics, type EventEnvelope, type NoticesSentData, type ReportsAcceptedData, type ReportsMatchedData } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { createKafka, EventProducer } from '@hashcheck/kafka';
import { codec } from '@hashcheck/runtime';
import { infra, TopicRecorder, waitFor } from '@hashcheck/testing';
import { ADMIN_KEY, bootEnforcement, bootHashCheck, bootIntake, bootNotification, HOTLINE_KEY, isolation, Partner, SERVICE_ADMIN_KEY, submitted } from './pipeline-harness';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

interface Status { status: string; caseId: string; pipeline: { check: { state: string }; case: { state: string; outcome?: string } } }

test('a re-upload reported after enforcement closed the case, before intake heard of it: it moves to a new case, is matched and noticed again', async (t) => {
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const topic = (base: string) => iso.prefix + base;
  // The provider's webhook: accepts every notice.
  const server = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(202, { 'content-type': 'application/json' }).end('{}')); });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/abuse`;

  const apps: App[] = [];
  t.after(async () => { await Promise.all(apps.splice(0).map((a) => a.close())); });
  t.after(async () => {
    const m = new MongoClient(env.mongoUri);
    await m.connect();
    for (const s of ['intake', 'hash_check', 'notification', 'enforcement']) await m.db(`${iso.dbBase}_${s}`.slice(0, 60)).dropDatabase().catch(() => undefined);
    await m.close();
  });
  const intake = (await bootIntake(env, iso)).app;
  const hashCheck = await bootHashCheck(env, iso);
  apps.push(intake, hashCheck, await bootNotification(env, iso), await bootEnforcement(env, iso));
  const recorder = await new TopicRecorder(env.brokers).start([Topics.reportsAccepted, Topics.reportsMatched, Topics.noticesSent].map(topic));
  t.after(() => recorder.stop());
  const producer = new EventProducer(createKafka({ brokers: env.brokers, clientId: 'e2e-enforcement' }), codec, iso.prefix);
  await producer.connect();
  t.after(() => producer.disconnect());

  const provider = await intake.inject({
    method: 'POST', url: '/v1/providers', headers: { authorization: `Bearer ${ADMIN_KEY}` },
    payload: { id: 'late-hosting', name: 'Late Hosting', country: 'NL', abuseContacts: [], webhook: { url: webhookUrl, secret: 'e2e-provider-webhook-secret-0123' }, domains: ['late-hosting.example'], ipRanges: [], category: 'hosting-nl' },
  });
  assert.equal(provider.statusCode, 201, provider.body);
  const admin = { authorization: `Bearer ${SERVICE_ADMIN_KEY}` };
  const known = md5('late content');
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'late-list', name: 'Late list', source: 'hotline', category: 'csam-a', owner: 'e2e' } })).statusCode, 201);
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists/late-list/changes', headers: admin, payload: { add: [{ type: 'md5', hash: known }] } })).statusCode, 200);
  await waitFor(async () => (await hashCheck.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'md5', hash: known }] } })).json().results?.[0]?.match === true, { what: 'the list live in hash-check' });

  const partner = new Partner(env.brokers, topic(Topics.reportsSubmitted));
  t.after(() => partner.close());
  const url = 'https://cdn.late-hosting.example/x.jpg';
  const hot = { authorization: `Bearer ${HOTLINE_KEY}` };
  const status = async (id: string) => (await intake.inject({ method: 'GET', url: `/v1/reports/${id}`, headers: hot })).json<Status>();

  // R1: matched and noticed in case C.
  await partner.publish([submitted({ reportId: 'late:1', source: 'partner-a', url, hashes: { md5: known } })]);
  const [m1] = await recorder.waitForCount(topic(Topics.reportsMatched), 1, 60_000);
  const caseId = m1!.json<EventEnvelope<ReportsMatchedData>>().data.caseId;
  const caseKey = m1!.json<EventEnvelope<ReportsMatchedData>>().data.caseKey;
  await recorder.waitForCount(topic(Topics.noticesSent), 1, 60_000);

  // Enforcement closes C now (the content was removed); its cases.closed reaches intake only after R2,
  // a re-upload reported a moment later, has joined C.
  const closedAt = new Date();
  await new Promise((r) => setTimeout(r, 50));
  await partner.publish([submitted({ reportId: 'late:2', source: 'partner-a', url, hashes: { md5: known } })]);
  const joined = await waitFor(async () => { const s = await status('late:2'); return s.status === 'accepted' ? s : undefined; }, { what: 'R2 accepted' });
  assert.equal(joined.caseId, caseId, 'R2 joined C: intake has not heard of the close yet');
  const close = createEvent(CasesClosed, { subject: caseId, source: 'enforcement', occurredAt: closedAt, data: { caseId, caseKey, providerId: 'late-hosting', outcome: 'removed', closedAt: closedAt.toISOString(), reportIds: ['late:1'] } });
  await producer.publish(Topics.casesClosed, [close]);

  // R2 is announced again with a new case, checked, and noticed as that case.
  const newCaseId = `${caseKey}.2`;
  const matched = await waitFor(() => recorder.on(topic(Topics.reportsMatched)).map((m) => m.json<EventEnvelope<ReportsMatchedData>>().data).find((d) => d.reportId === 'late:2' && d.caseId === newCaseId), { what: 'reports.matched for R2 in the new case', timeoutMs: 30_000 });
  assert.equal(matched.providerId, 'late-hosting');
  const notice = await waitFor(() => recorder.on(topic(Topics.noticesSent)).map((m) => m.json<EventEnvelope<NoticesSentData>>().data).find((n) => n.items.some((i) => i.caseId === newCaseId)), { what: 'a notice for the new case', timeoutMs: 30_000 });
  assert.deepEqual(notice.items.map((i) => [i.reportId, i.caseId]), [['late:2', newCaseId]]);
  const s2 = await status('late:2');
  assert.equal(s2.caseId, newCaseId);
  assert.notEqual(s2.pipeline.case.state, 'closed', 'R2 is not in a closed case');
  await waitFor(async () => ((await status('late:1')).pipeline.case.state === 'closed' ? true : undefined), { what: 'R1 closed in C' });
  assert.equal((await status('late:1')).caseId, caseId);

  // The close again (a redelivery): nothing moves, nothing more is announced.
  await producer.publish(Topics.casesClosed, [close]);
  await new Promise((r) => setTimeout(r, 2000));
  const announced = recorder.on(topic(Topics.reportsAccepted)).map((m) => m.json<EventEnvelope<ReportsAcceptedData>>()).filter((e) => e.data.reportId === 'late:2');
  assert.deepEqual(announced.map((e) => e.data.caseId), [caseId, newCaseId]);
  assert.equal((await status('late:2')).caseId, newCaseId);
});
