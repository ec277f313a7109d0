import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Header, Topics, type EventEnvelope, type ReportsAcceptedData, type ReportsRejectedData } from '@hashcheck/events';
import { groupId } from '@hashcheck/runtime';
import { infra, TopicRecorder } from '@hashcheck/testing';
import { ADMIN_KEY, bootIntake, HOTLINE_KEY, isolation, Partner, rewind, submitted, waitCaughtUp } from './pipeline-harness';

const MD5_A = '9e107d9d372bb6826bd81d3542a419d6';
const SHA256_B = 'd7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592';

test('intake end to end: a partner batch over Kafka and a hotline batch over HTTP; every output topic and the stored state; a replay changes nothing', async (t) => {
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const topic = (base: string) => iso.prefix + base;
  let { app, config } = await bootIntake(env, iso);
  t.after(async () => app.close());
  const mongo = new MongoClient(env.mongoUri);
  await mongo.connect();
  const db = mongo.db(config.MONGODB_DATABASE);
  t.after(async () => { await db.dropDatabase().catch(() => undefined); await mongo.close(); });
  const recorder = await new TopicRecorder(env.brokers).start([Topics.reportsAccepted, Topics.reportsRejected, Topics.deadLetter, Topics.providers].map(topic));
  t.after(() => recorder.stop());
  const partner = new Partner(env.brokers, topic(Topics.reportsSubmitted));
  t.after(() => partner.close());

  const created = await app.inject({
    method: 'POST', url: '/v1/providers', headers: { authorization: `Bearer ${ADMIN_KEY}` },
    payload: { id: 'demo-hosting', name: 'Demo Hosting', country: 'NL', abuseContacts: ['abuse@demo-hosting.example'], domains: ['demo-hosting.example'], ipRanges: ['198.51.100.0/24'], category: 'hosting-nl' },
  });
  assert.equal(created.statusCode, 201, created.body);

  // The partner's batch, in one send: every kind of input.
  const r1 = submitted({ reportId: 'pa:1', source: 'partner-a', url: 'https://IMG.demo-hosting.example:443/a.jpg#frag', hashes: { md5: MD5_A.toUpperCase() } });
  const r2 = submitted({ reportId: 'pa:2', source: 'partner-a', url: 'https://unknown.example/b.png', hashes: { sha256: SHA256_B }, ip: '198.51.100.20' });
  const r3 = submitted({ reportId: 'pa:3', source: 'partner-a', url: 'https://no-provider.example/c.png', hashes: { sha256: SHA256_B } });
  const sameContentSameUrl = submitted({ reportId: 'pa:4', source: 'partner-a', url: 'https://img.demo-hosting.example/a.jpg', hashes: { md5: MD5_A } });
  const redelivered = { ...r1 };
  const sameIdNewEvent = submitted(r1.data);
  const schemaInvalid = submitted({ reportId: 'pa:5', source: 'partner-a', url: 'https://x.example/a', hashes: {} as never });
  const semanticInvalid = submitted({ reportId: 'pa:6', source: 'partner-a', url: 'https://x.example/a', hashes: { md5: 'd41d8cd98f00b204e9800998ecf8427e' } });
  const conflict = submitted({ ...r2.data, url: 'https://other.example/z' });
  const wrongType = { ...submitted({ reportId: 'pa:7', source: 'partner-a', url: 'https://x.example/a', hashes: { md5: MD5_A } }), type: 'reports.accepted' };
  const undecodable = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x01]);
  await partner.send([
    ...[r1, r2, r3, sameContentSameUrl, redelivered, sameIdNewEvent, schemaInvalid, semanticInvalid, conflict, wrongType].map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    { key: 'junk', value: undecodable, headers: { 'x-partner-trace': 'abc' } },
  ]);

  // Accepted: exactly the three new reports plus the new report at an open case's content+URL.
  const accepted = await recorder.waitForCount(topic(Topics.reportsAccepted), 4);
  const rejected = await recorder.waitForCount(topic(Topics.reportsRejected), 4);
  const dead = await recorder.waitForCount(topic(Topics.deadLetter), 1);
  await waitCaughtUp(partner.kafka, groupId(config, 'intake', 'submitted'), topic(Topics.reportsSubmitted));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(recorder.on(topic(Topics.reportsAccepted)).length, 4, 'duplicates produce no second accepted event');
  const acc = new Map(accepted.map((m) => [m.key, m.json<EventEnvelope<ReportsAcceptedData>>()]));
  assert.deepEqual([...acc.keys()].sort(), ['pa:1', 'pa:2', 'pa:3', 'pa:4']);
  const a1 = acc.get('pa:1')!.data;
  assert.equal(a1.url, 'https://img.demo-hosting.example/a.jpg');
  assert.equal(a1.hashes.md5, MD5_A);
  assert.equal(a1.providerId, 'demo-hosting');
  assert.equal(a1.providerResolved, true);
  assert.equal(acc.get('pa:2')!.data.providerId, 'demo-hosting', 'resolved by IP range');
  assert.equal(acc.get('pa:3')!.data.providerResolved, false, 'unresolvable: stored and flagged, not dropped');
  assert.equal(acc.get('pa:3')!.data.providerId, null);
  assert.equal(acc.get('pa:4')!.data.caseId, a1.caseId, 'same content at the same URL joins the open case');
  assert.notEqual(acc.get('pa:2')!.data.caseId, acc.get('pa:3')!.data.caseId);
  for (const m of accepted) assert.equal(m.headers[Header.EVENT_TYPE], 'reports.accepted');

  // Rejected: each with its reasons and the original input.
  assert.equal(recorder.on(topic(Topics.reportsRejected)).length, 4);
  const rej = rejected.map((m) => m.json<EventEnvelope<ReportsRejectedData>>().data);
  const byId = new Map(rej.map((r) => [r.reportId, r]));
  assert.equal(byId.get('pa:5')?.code, 'HC_EVENT_SCHEMA');
  assert.match(byId.get('pa:5')!.reasons.join(), /\/data\/hashes must NOT have fewer than 1 properties/);
  assert.equal(byId.get('pa:5')?.original.eventId, schemaInvalid.id);
  assert.equal(byId.get('pa:6')?.code, 'HC_VALIDATION');
  assert.match(byId.get('pa:6')!.reasons.join(), /hash of empty content/);
  assert.equal(byId.get('pa:2')?.code, 'HC_CONFLICT');
  assert.equal(byId.get('pa:7')?.code, 'HC_EVENT_SCHEMA');
  assert.match(byId.get('pa:7')!.reasons.join(), /carries reports.submitted v1 events only/);
  for (const r of rej) assert.equal(r.original.channel, 'kafka');

  // Dead letter: the original bytes and headers, plus where it came from and why.
  assert.equal(dead.length, 1);
  assert.deepEqual(dead[0]!.value, undecodable);
  assert.equal(dead[0]!.headers['x-partner-trace'], 'abc');
  assert.equal(dead[0]!.headers[Header.DLQ_ORIGINAL_TOPIC], Topics.reportsSubmitted);
  assert.equal(dead[0]!.headers[Header.DLQ_ERROR_CODE], 'HC_EVENT_DECODE');

  // Stored state.
  const reports = db.collection('reports');
  assert.equal(await reports.countDocuments({}), 4);
  assert.equal(await reports.countDocuments({ 'outbox.id': { $exists: true } }), 0, 'no report queues an event in an embedded outbox');
  assert.equal(await db.collection('outbox_pending').countDocuments({ collection: 'reports' }), 0, 'every pending event was published (no mark left)');
  assert.equal(await reports.countDocuments({ 'events.0': { $exists: true } }), 4, 'each report keeps the event it announced');
  assert.equal((await reports.findOne({ _id: 'pa:3' as never }))?.providerResolved, false);
  assert.equal(await db.collection('rejections').countDocuments({}), 4);

  // The same through HTTP: accepted, duplicate of a Kafka report, invalid.
  const http = await app.inject({
    method: 'POST', url: '/v1/reports', headers: { authorization: `Bearer ${HOTLINE_KEY}` },
    payload: { reports: [{ reportId: 'hot:1', url: 'https://demo-hosting.example/d.jpg', hashes: { md5: MD5_A } }, { reportId: 'hot:1', url: 'https://demo-hosting.example/d.jpg', hashes: { md5: MD5_A } }, { reportId: 'hot:2', url: 'https://x.example', hashes: { pdq: 'zz' } }] },
  });
  assert.equal(http.statusCode, 207, http.body);
  assert.deepEqual(http.json().results.map((r: { status: string }) => r.status), ['accepted', 'duplicate', 'rejected']);
  await recorder.waitForCount(topic(Topics.reportsAccepted), 5);
  await recorder.waitForCount(topic(Topics.reportsRejected), 5);
  const status = await app.inject({ method: 'GET', url: '/v1/reports/pa:4', headers: { authorization: `Bearer ${HOTLINE_KEY}` } });
  assert.equal(status.json().caseId, a1.caseId);

  // Replay: stop intake, rewind its group to offset 0, start again; nothing new anywhere.
  const snapshot = async () => JSON.stringify(await reports.find({}).sort({ _id: 1 }).toArray());
  const before = await snapshot();
  const counts = () => [Topics.reportsAccepted, Topics.reportsRejected, Topics.deadLetter].map((x) => recorder.on(topic(x)).length);
  const countsBefore = counts();
  await app.close();
  await rewind(partner.kafka, groupId(config, 'intake', 'submitted'), topic(Topics.reportsSubmitted));
  ({ app, config } = await bootIntake(env, iso));
  await waitCaughtUp(partner.kafka, groupId(config, 'intake', 'submitted'), topic(Topics.reportsSubmitted));
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(counts(), countsBefore, 'a replay publishes nothing');
  assert.equal(await snapshot(), before, 'a replay changes no stored report');
  assert.equal(await db.collection('outbox_pending').countDocuments({}), 0, 'each replayed report took back the mark it made');
});
