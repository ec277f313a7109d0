import type { TestContext } from 'node:test';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent, type EventEnvelope } from '@hashcheck/events';
import { createKafka, ensureTopics, EventProducer } from '@hashcheck/kafka';
import { connectMongo, type MongoHandle } from '@hashcheck/mongo';
import { databaseUri, infra, randomName, TopicRecorder } from '@hashcheck/testing';

export interface OutboxFixture {
  topic: string;
  producer: EventProducer;
  mongo: MongoHandle;
  recorder: TopicRecorder;
  /** A valid event numbered `n` for the topic, keyed by `subject`. */
  event: (n: number, subject?: string) => EventEnvelope;
  /** The `n` of every event seen on the topic, in arrival order. */
  published: () => number[];
}

/** What the outbox relay tests share: a real topic, producer, database and recorder, cleaned up after. Undefined (skipped) without infra. */
export async function outboxFixture(t: TestContext, name: string, partitions = 1): Promise<OutboxFixture | undefined> {
  const env = infra(t);
  if (!env) return undefined;
  const reg = new EventRegistry();
  const topic = `${randomName(name)}.v1`;
  reg.addTopic({ name: topic, partitions, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  const Ping = reg.add(defineEvent({ type: 'test.ping', version: 1, topic, description: 'ping', schema: Type.Object({ n: Type.Integer() }, { additionalProperties: false }) }));
  const kafka = createKafka({ brokers: env.brokers, clientId: `${name}-test` });
  await ensureTopics(kafka, reg.topics());
  const producer = new EventProducer(kafka, new EventCodec(reg));
  await producer.connect();
  t.after(() => producer.disconnect());
  const mongo = await connectMongo(databaseUri(env.mongoUri, randomName('db').replace(/-/g, '_')), { appName: `${name}-test` });
  t.after(async () => { await mongo.db.dropDatabase(); await mongo.client.close(); });
  const recorder = await new TopicRecorder(env.brokers).start([topic]);
  t.after(() => recorder.stop());
  return {
    topic,
    producer,
    mongo,
    recorder,
    event: (n, subject = 's') => createEvent(Ping, { subject, source: 'test', data: { n } }),
    published: () => recorder.on(topic).map((m) => m.json<{ data: { n: number } }>().data.n),
  };
}
