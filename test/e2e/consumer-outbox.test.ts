/**
 * The report pipeline's consumer handlers publish their own events (ConsumerOutbox, no mark): a
 * crash between a handler's write and the broker's acknowledgement is played by a publish that fails
 * once, after the write. The input is redelivered, finds its document, and publishes what was kept
 * back: every report reaches reports.accepted and reports.matched exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Topics } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { OUTBOX_PENDING, OUTBOX_PUBLISHED } from '@hashcheck/mongo';
import { infra, TopicRecorder, waitFor } from '@hashcheck/testing';
import { ADMIN_KEY, bootHashCheck, bootIntake, HOTLINE_KEY, isolation, Partner, SERVICE_ADMIN_KEY, submitted } from './pipeline-harness';

const md5 = (n: number) => n.toString(16).padStart(32, 'a');

/** Makes the app's next publish to `topic` fail after its handler's write; returns how many failed. */
function failNextPublish(app: App, topic: string): () => number {
  const producer = app.kafka.producer;
  const original = producer.publishTraced.bind(producer);
  let failed = 0;
  producer.publishTraced = async (t, items) => {
    if (t === topic && failed === 0) {
      failed++;
      throw Object.assign(new Error('broker gone (injected)'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false });
    }
    return original(t, items);
  };
  return () => failed;
}

test('a publish that fails after the write: the redelivered input publishes it, once, in intake and in hash-check', async (t) => {
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const topic = (base: string) => iso.prefix + base;
  const { app: intake, config } = await bootIntake(env, iso);
  t.after(() => intake.close());
  const hashCheck = await bootHashCheck(env, iso);
  t.after(() => hashCheck.close());
  const mongo = new MongoClient(env.mongoUri);
  await mongo.connect();
  const intakeDb = mongo.db(config.MONGODB_DATABASE);
  const hashCheckDb = mongo.db(`${iso.dbBase}_hash_check`);
  t.after(async () => {
    await intakeDb.dropDatabase().catch(() => undefined);
    await hashCheckDb.dropDatabase().catch(() => undefined);
    await mongo.close();
  });
  const recorder = await new TopicRecorder(env.brokers).start([Topics.reportsAccepted, Topics.reportsMatched, Topics.deadLetter].map(topic));
  t.after(() => recorder.stop());
  const partner = new Partner(env.brokers, topic(Topics.reportsSubmitted));
  t.after(() => partner.close());

  const provider = await intake.inject({ method: 'POST', url: '/v1/providers', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { id: 'demo-hosting', name: 'Demo Hosting', country: 'NL', abuseContacts: ['abuse@demo-hosting.example'], domains: ['demo-hosting.example'], ipRanges: [], category: 'hosting-nl' } });
  assert.equal(provider.statusCode, 201, provider.body);
  const admin = { authorization: `Bearer ${SERVICE_ADMIN_KEY}` };
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'l', name: 'L', source: 'hotline', category: 'csam-a', owner: 'Hotline' } })).statusCode, 201);
  const N = 20;
  const add = await hashCheck.inject({ method: 'POST', url: '/v1/lists/l/changes', headers: admin, payload: { add: Array.from({ length: N }, (_, n) => ({ type: 'md5', hash: md5(n) })) } });
  assert.equal(add.statusCode, 200, add.body);
  await waitFor(async () => {
    const r = await hashCheck.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'md5', hash: md5(N - 1) }] } });
    return r.json<{ results: Array<{ match: boolean }> }>().results[0]?.match || undefined;
  }, { what: 'the list to be live' });

  const intakeFailed = failNextPublish(intake, Topics.reportsAccepted);
  const hashCheckFailed = failNextPublish(hashCheck, Topics.reportsMatched);
  const reports = Array.from({ length: N }, (_, n) => submitted({ reportId: `co:${n}`, source: 'partner-a', url: `https://img.demo-hosting.example/${n}.jpg`, hashes: { md5: md5(n) } }));
  await partner.send(reports.map((e) => ({ key: e.subject, value: JSON.stringify(e) })));

  await recorder.waitForCount(topic(Topics.reportsMatched), N, 60_000);
  assert.equal(intakeFailed(), 1, 'intake lost one publish after writing');
  assert.equal(hashCheckFailed(), 1, 'hash-check lost one publish after writing');
  await new Promise((r) => setTimeout(r, 1500));
  const keys = (base: string) => recorder.on(topic(base)).map((m) => m.key).sort();
  const expected = reports.map((e) => e.subject).sort();
  assert.deepEqual(keys(Topics.reportsAccepted), expected, 'every report accepted, once');
  assert.deepEqual(keys(Topics.reportsMatched), expected, 'every report matched, once');
  assert.equal(recorder.on(topic(Topics.deadLetter)).length, 0, 'a failed publish is retried, never dead-lettered');

  // No marks on this path; the ledger records each event; the status says published.
  assert.equal(await intakeDb.collection(OUTBOX_PENDING).countDocuments({}), 0);
  assert.equal(await hashCheckDb.collection(OUTBOX_PENDING).countDocuments({}), 0);
  await waitFor(async () => ((await intakeDb.collection(OUTBOX_PUBLISHED).countDocuments({})) === N && (await hashCheckDb.collection(OUTBOX_PUBLISHED).countDocuments({})) === N) || undefined, { what: 'both ledgers to record every event' });
  const status = await intake.inject({ url: '/v1/reports/co:0', headers: { authorization: `Bearer ${HOTLINE_KEY}` } });
  assert.equal(status.statusCode, 200, status.body);
  assert.equal(status.json().pipeline.accepted.published, true);
});
