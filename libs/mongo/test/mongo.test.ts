import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent, registry as system, Topics } from '@hashcheck/events';
import { createKafka, ensureTopics, EventProducer } from '@hashcheck/kafka';
import { connectMongo, ensureIndexes, OutboxRelay, outboxEntry, OUTBOX_INDEX, pingMongo } from '@hashcheck/mongo';
import { isDuplicateKeyError } from '@hashcheck/errors';
import { databaseUri, infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';

const silent = { error: () => {}, debug: () => {} };

test('insert, find and unique index behaviour on the real database', async (t) => {
  const env = infra(t);
  if (!env) return;
  const dbName = randomName('mongo').replace(/-/g, '_');
  const { client, db } = await connectMongo(databaseUri(env.mongoUri, dbName), { appName: 'test' });
  t.after(async () => { await db.dropDatabase(); await client.close(); });
  await ensureIndexes(db, [{ collection: 'reports', indexes: [{ key: { reportId: 1 }, name: 'reportId_unique', unique: true }] }]);
  const reports = db.collection<{ reportId: string; url: string }>('reports');
  await reports.insertOne({ reportId: 'r-1', url: 'https://a.example/x' });
  const found = await reports.findOne({ reportId: 'r-1' });
  assert.equal(found?.url, 'https://a.example/x');
  await assert.rejects(reports.insertOne({ reportId: 'r-1', url: 'https://b.example/' }), (err: unknown) => isDuplicateKeyError(err));
  assert.equal(await reports.countDocuments({}), 1, 'the duplicate left nothing behind');
  assert.deepEqual(await pingMongo(db), { ok: true });
});

test('an unreachable database is reported, not waited on', async () => {
  const started = Date.now();
  await assert.rejects(connectMongo('mongodb://127.0.0.1:1/x', { appName: 't', serverSelectionTimeoutMS: 500 }));
  assert.ok(Date.now() - started < 10_000);
});

test('outbox: state and events in one document; the relay publishes and clears them, and a crash before clearing republishes the same ids', async (t) => {
  const env = infra(t);
  if (!env) return;
  const reg = new EventRegistry();
  const prefix = `${randomName('outbox')}.`;
  reg.addTopic({ name: 'things.v1', partitions: 2, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  reg.addTopic(system.topic(Topics.deadLetter)!);
  const Thing = reg.add(defineEvent({ type: 'test.thing', version: 1, topic: 'things.v1', description: 't', schema: Type.Object({ n: Type.Integer() }) }));
  const kafka = createKafka({ brokers: env.brokers, clientId: 'outbox-test' });
  await ensureTopics(kafka, reg.topics(), { prefix });
  const producer = new EventProducer(kafka, new EventCodec(reg), prefix);
  await producer.connect();
  t.after(() => producer.disconnect());
  const { client, db } = await connectMongo(databaseUri(env.mongoUri, randomName('outbox').replace(/-/g, '_')), { appName: 'test' });
  t.after(async () => { await db.dropDatabase(); await client.close(); });
  await ensureIndexes(db, [{ collection: 'things', indexes: [OUTBOX_INDEX] }]);
  const recorder = await new TopicRecorder(env.brokers).start([`${prefix}things.v1`]);
  t.after(() => recorder.stop());

  const things = db.collection('things');
  const e1 = createEvent(Thing, { subject: 'a', source: 't', data: { n: 1 } });
  const e2 = createEvent(Thing, { subject: 'a', source: 't', data: { n: 2 } });
  await things.insertOne({ _id: 'a' as never, state: 'new', outbox: [outboxEntry('things.v1', e1), outboxEntry('things.v1', e2)] });
  const relay = new OutboxRelay({ db, collections: ['things'], producer, logger: silent });
  assert.equal(await relay.drain(), 2);
  assert.equal(await relay.drain(), 0, 'nothing left to publish');
  const doc = await things.findOne({ _id: 'a' as never });
  assert.deepEqual(doc?.outbox, []);
  const got = await recorder.waitForCount(`${prefix}things.v1`, 2);
  assert.deepEqual(got.map((m) => m.json<{ data: { n: number } }>().data.n), [1, 2], 'in order, same key');

  // A crash between publishing and clearing: the entry is still there and goes out again with the same id.
  const e3 = createEvent(Thing, { subject: 'b', source: 't', data: { n: 3 } });
  await things.insertOne({ _id: 'b' as never, outbox: [outboxEntry('things.v1', e3)] });
  await producer.publish('things.v1', [e3]);
  assert.equal(await relay.drain(), 1);
  const copies = await waitFor(() => {
    const c = recorder.on(`${prefix}things.v1`).filter((m) => m.json<{ id: string }>().id === e3.id);
    return c.length === 2 ? c : undefined;
  }, { what: 'both copies of e3' });
  assert.equal(copies.length, 2, 'same event id twice: consumers dedupe by id');

  // The relay running in the background picks up a new write after notify().
  relay.start();
  t.after(() => relay.stop());
  const e4 = createEvent(Thing, { subject: 'c', source: 't', data: { n: 4 } });
  await things.updateOne({ _id: 'a' as never }, { $set: { state: 'changed' }, $push: { outbox: outboxEntry('things.v1', e4) as never } });
  relay.notify();
  await waitFor(() => recorder.on(`${prefix}things.v1`).some((m) => m.json<{ id: string }>().id === e4.id), { what: 'e4 relayed' });
});
