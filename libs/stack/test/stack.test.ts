/**
 * The stack's own integration test: a produce/consume round trip through a consumer group on the
 * real broker, and insert/find/unique-index behaviour on the real MongoDB-wire server.
 * Uses KAFKA_BROKERS / MONGODB_URI when the test runner set them; otherwise starts the stack
 * itself (this is the launcher's own test, so it does not skip).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { MongoClient, MongoServerError } from 'mongodb';
import { startStack, waitForTopicLeaders } from '@hashcheck/stack';
import type { Stack } from '@hashcheck/stack';

let stackPromise: Promise<Stack> | undefined;
function getStack(): Promise<Stack> {
  stackPromise ??= startStack({ log: false });
  return stackPromise;
}

test.after(async () => {
  if (stackPromise) await (await stackPromise).stop();
});

test('Kafka: produce and consume through a consumer group', { timeout: 180_000 }, async (t) => {
  const stack = await getStack();
  const kafka = new Kafka({ clientId: 'stack-test', brokers: stack.kafkaBrokers.split(','), logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `stack-test-${randomUUID()}`;
  const groupId = `stack-test-${randomUUID()}`;
  t.after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  });

  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: false }), true);
  await waitForTopicLeaders(admin, [topic]);
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.equal(meta.topics[0]?.partitions.length, 2);

  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.after(() => producer.disconnect());
  const value = `hello ${randomUUID()}`;
  const [meta0] = await producer.send({ topic, acks: -1, messages: [{ key: 'k1', value, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }] });
  assert.equal(meta0?.errorCode, 0);

  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  t.after(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = await new Promise<{ key: string; value: string; traceparent: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message within 60 s')), 60_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            traceparent: message.headers?.traceparent?.toString() ?? '',
          });
        },
      })
      .catch(reject);
  });
  assert.deepEqual(received, { key: 'k1', value, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });

  // The offset was committed for the group: the broker knows the group and its position.
  await consumer.stop();
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = offsets[0]?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  assert.equal(committed, 1);
});

test('MongoDB: insert, find, and a unique index violation (E11000)', { timeout: 120_000 }, async (t) => {
  const stack = await getStack();
  const client = new MongoClient(stack.mongoUri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(`stack_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`);
  t.after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  const col = db.collection<{ _id?: unknown; reportId: string; n: number }>('reports');
  await col.createIndex({ reportId: 1 }, { unique: true, name: 'reportId_unique' });
  await col.insertMany([{ reportId: 'r-1', n: 1 }, { reportId: 'r-2', n: 2 }]);

  const found = await col.find({ n: { $gte: 2 } }, { projection: { _id: 0 } }).toArray();
  assert.deepEqual(found, [{ reportId: 'r-2', n: 2 }]);

  await assert.rejects(
    col.insertOne({ reportId: 'r-1', n: 3 }),
    (err: unknown) => err instanceof MongoServerError && err.code === 11000,
  );
  // An idempotent upsert on the same key is not a violation.
  await col.updateOne({ reportId: 'r-1' }, { $set: { n: 10 } }, { upsert: true });
  assert.equal(await col.countDocuments(), 2);
  assert.equal((await col.findOne({ reportId: 'r-1' }))?.n, 10);
});
