import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent } from '@hashcheck/events';
import { createKafka, ensureTopics, EventProducer } from '@hashcheck/kafka';
import { connectMongo, outboxEntry, OutboxRelay } from '@hashcheck/mongo';
import { databaseUri, infra, randomName, TopicRecorder } from '@hashcheck/testing';

/**
 * More hinted documents than one batch (100): the relay used to remove a batch's entries with one
 * 100-statement bulkWrite, which never answered on FerretDB 1.24 (docs/reliability.md, "Known
 * limits"); this drain would then hang until the test timed out.
 */
test('the relay drains more hinted documents than one batch, each entry published once and removed', async (t) => {
  const env = infra(t);
  if (!env) return;
  const reg = new EventRegistry();
  const topic = `${randomName('outbox-many')}.v1`;
  reg.addTopic({ name: topic, partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  const Ping = reg.add(defineEvent({ type: 'test.many', version: 1, topic, description: 'one per document', schema: Type.Object({ n: Type.Integer() }, { additionalProperties: false }) }));
  const kafka = createKafka({ brokers: env.brokers, clientId: 'outbox-many-test' });
  await ensureTopics(kafka, reg.topics());
  const producer = new EventProducer(kafka, new EventCodec(reg));
  await producer.connect();
  t.after(() => producer.disconnect());
  const mongo = await connectMongo(databaseUri(env.mongoUri, randomName('db').replace(/-/g, '_')), { appName: 'outbox-many-test' });
  t.after(async () => { await mongo.db.dropDatabase(); await mongo.client.close(); });
  const recorder = await new TopicRecorder(env.brokers).start([topic]);
  t.after(() => recorder.stop());

  const N = 130;
  const coll = mongo.db.collection<{ _id: string; outbox: unknown[] }>('things');
  await coll.insertMany(Array.from({ length: N }, (_, n) => ({ _id: `d${n}`, outbox: [outboxEntry(topic, createEvent(Ping, { subject: `s${n}`, source: 'test', data: { n } }))] })));
  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], producer, logger: { error: () => undefined, debug: () => undefined } });
  for (let n = 0; n < N; n++) relay.notify({ collection: 'things', id: `d${n}` });
  assert.equal(await relay.drain(), N);
  assert.equal(await relay.drain(), 0, 'nothing left for a second pass');
  assert.equal(await coll.countDocuments({ 'outbox.0': { $exists: true } }), 0, 'every entry removed');
  const got = await recorder.waitForCount(topic, N, 60_000);
  assert.deepEqual(new Set(got.map((m) => m.json<{ data: { n: number } }>().data.n)).size, N, 'each document\'s event, once');
});
