/**
 * Entries a writer hands to the relay (`notify({ collection, id, entries })`) are published without
 * reading the document back, and removed by one batch update. They are published once even when a
 * sweep got to the document first, and removed even when they do not compare equal to the stored
 * entries (removed by id then, not published again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent } from '@hashcheck/events';
import { createKafka, ensureTopics, EventProducer } from '@hashcheck/kafka';
import { connectMongo, outboxEntry, OutboxRelay, type OutboxEntry } from '@hashcheck/mongo';
import { databaseUri, infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';

test('handed-over entries: published once (even after a sweep), removed in one update, or by id when they differ', async (t) => {
  const env = infra(t);
  if (!env) return;
  const reg = new EventRegistry();
  const topic = `${randomName('given')}.v1`;
  reg.addTopic({ name: topic, partitions: 1, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  const Ping = reg.add(defineEvent({ type: 'test.ping', version: 1, topic, description: 'ping', schema: Type.Object({ n: Type.Integer() }, { additionalProperties: false }) }));
  const kafka = createKafka({ brokers: env.brokers, clientId: 'outbox-given-test' });
  await ensureTopics(kafka, reg.topics());
  const producer = new EventProducer(kafka, new EventCodec(reg));
  await producer.connect();
  t.after(() => producer.disconnect());
  const mongo = await connectMongo(databaseUri(env.mongoUri, randomName('db').replace(/-/g, '_')), { appName: 'outbox-given-test' });
  t.after(async () => { await mongo.db.dropDatabase(); await mongo.client.close(); });
  const coll = mongo.db.collection<{ _id: string; outbox?: OutboxEntry[] }>('things');
  const recorder = await new TopicRecorder(env.brokers).start([topic]);
  t.after(() => recorder.stop());
  const logger = { error: () => undefined, debug: () => undefined };
  const ev = (n: number) => createEvent(Ping, { subject: `s${n}`, source: 'test', data: { n } });
  const published = () => recorder.on(topic).map((m) => m.json<{ data: { n: number } }>().data.n).sort((a, b) => a - b);

  // 1. Many documents handed over: all published once, all removed.
  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], producer, logger, intervalMs: 60_000 });
  const written: Array<{ id: string; entries: OutboxEntry[] }> = [];
  for (let n = 0; n < 250; n++) {
    const entries = [outboxEntry(topic, ev(n))];
    await coll.insertOne({ _id: `d${n}`, outbox: entries });
    written.push({ id: `d${n}`, entries });
  }
  // 2. A sweep publishes them before their hints are drained: the hints must not publish them again.
  assert.equal(await relay.drain(), 250, 'the sweep publishes every pending entry');
  for (const w of written) relay.notify({ collection: 'things', ...w });
  assert.equal(await relay.drain(), 0, 'hints for entries the sweep published publish nothing');

  // 3. New documents, handed over with the entries they stored.
  for (let n = 250; n < 500; n++) {
    const entries = [outboxEntry(topic, ev(n))];
    await coll.insertOne({ _id: `d${n}`, outbox: entries });
    relay.notify({ collection: 'things', id: `d${n}`, entries });
  }
  // 4. One handed over with entries that differ from the stored ones (same id): published, removed by id.
  const stored = outboxEntry(topic, ev(500));
  await coll.insertOne({ _id: 'odd', outbox: [stored] });
  relay.notify({ collection: 'things', id: 'odd', entries: [{ ...stored, carrier: { traceparent: 'not-what-was-stored' } }] });
  assert.equal(await relay.drain(), 251);
  assert.equal(await coll.countDocuments({ 'outbox.id': { $exists: true } }), 0, 'every published entry was removed');
  assert.equal(await relay.drain(), 0, 'and nothing is left for a sweep');

  await waitFor(() => recorder.on(topic).length >= 501, { what: '501 events', timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(published(), Array.from({ length: 501 }, (_, n) => n), 'each event exactly once');
});
