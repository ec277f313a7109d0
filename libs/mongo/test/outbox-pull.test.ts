import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent } from '@hashcheck/events';
import { createKafka, ensureTopics, EventProducer } from '@hashcheck/kafka';
import { connectMongo, outboxEntry, OutboxRelay } from '@hashcheck/mongo';
import { databaseUri, infra, randomName, TopicRecorder } from '@hashcheck/testing';

test('the relay publishes each outbox entry once and removes exactly those it published', async (t) => {
  const env = infra(t);
  if (!env) return;
  const reg = new EventRegistry();
  const topic = `${randomName('outbox')}.v1`;
  reg.addTopic({ name: topic, partitions: 1, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  const Ping = reg.add(defineEvent({ type: 'test.ping', version: 1, topic, description: 'ping', schema: Type.Object({ n: Type.Integer() }, { additionalProperties: false }) }));
  const kafka = createKafka({ brokers: env.brokers, clientId: 'outbox-test' });
  await ensureTopics(kafka, reg.topics());
  const producer = new EventProducer(kafka, new EventCodec(reg));
  await producer.connect();
  t.after(() => producer.disconnect());
  const mongo = await connectMongo(databaseUri(env.mongoUri, randomName('db').replace(/-/g, '_')), { appName: 'outbox-test' });
  t.after(async () => { await mongo.db.dropDatabase(); await mongo.client.close(); });
  const coll = mongo.db.collection<{ _id: string; outbox?: unknown[] }>('things');
  const ev = (n: number) => createEvent(Ping, { subject: 's', source: 'test', data: { n } });
  await coll.insertOne({ _id: 'a', outbox: [outboxEntry(topic, ev(1)), outboxEntry(topic, ev(2))] });
  const recorder = await new TopicRecorder(env.brokers).start([topic]);
  t.after(() => recorder.stop());
  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], producer, logger: { error: () => undefined, debug: () => undefined } });
  assert.equal(await relay.drain(), 2);
  await coll.updateOne({ _id: 'a' }, { $push: { outbox: outboxEntry(topic, ev(3)) } });
  assert.equal(await relay.drain(), 1, 'only the new entry is left to publish');
  assert.equal(await relay.drain(), 0);
  assert.deepEqual((await coll.findOne({ _id: 'a' }))?.outbox, []);
  const got = await recorder.waitForCount(topic, 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(recorder.on(topic).map((m) => m.json<{ data: { n: number } }>().data.n), [1, 2, 3]);
  assert.equal(got.length, 3);

  // Running, with sweeps far apart: a hinted write goes out at once, by _id; an unhinted one waits
  // for the sweep that notify() without a hint asks for.
  const sweeping = new OutboxRelay({ db: mongo.db, collections: ['things'], producer, logger: { error: () => undefined, debug: () => undefined }, intervalMs: 60_000 });
  sweeping.start();
  t.after(() => sweeping.stop());
  await new Promise((r) => setTimeout(r, 300));
  await coll.insertOne({ _id: 'b', outbox: [outboxEntry(topic, ev(4)), outboxEntry(topic, ev(5))] });
  await coll.insertOne({ _id: 'c', outbox: [outboxEntry(topic, ev(6))] });
  sweeping.notify({ collection: 'things', id: 'b' });
  await recorder.waitForCount(topic, 5, 10_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(recorder.on(topic).map((m) => m.json<{ data: { n: number } }>().data.n), [1, 2, 3, 4, 5], 'the hinted document only, in order');
  sweeping.notify();
  await recorder.waitForCount(topic, 6, 10_000);
  assert.deepEqual((await coll.findOne({ _id: 'c' }))?.outbox, []);
});
