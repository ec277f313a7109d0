import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, Header, Topics, createEvent, defineEvent, registry as systemRegistry } from '@hashcheck/events';
import { createKafka, ensureTopics, EventConsumer, EventProducer, BrokerProbe, LagMonitor } from '@hashcheck/kafka';
import { HashCheckError } from '@hashcheck/errors';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

function setup() {
  const reg = new EventRegistry();
  const prefix = `${randomName('t')}.`;
  reg.addTopic({ name: 'work.v1', partitions: 3, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  reg.addTopic(systemRegistry.topic(Topics.deadLetter)!);
  const Work = reg.add(defineEvent({ type: 'test.work', version: 1, topic: 'work.v1', description: 'w', schema: Type.Object({ n: Type.Integer(), poison: Type.Optional(Type.Boolean()), flaky: Type.Optional(Type.Boolean()) }) }));
  return { reg, prefix, Work, codec: new EventCodec(reg) };
}

test('produce and consume through a consumer group on the real broker, with dead-lettering and retries', async (t) => {
  const env = infra(t);
  if (!env) return;
  const { reg, prefix, Work, codec } = setup();
  const kafka = createKafka({ brokers: env.brokers, clientId: 'kafka-test' });
  const created = await ensureTopics(kafka, reg.topics(), { prefix });
  assert.equal(created.length, 2);
  assert.deepEqual(await ensureTopics(kafka, reg.topics(), { prefix }), [], 'second call creates nothing');

  const producer = new EventProducer(kafka, codec, prefix);
  await producer.connect();
  t.after(() => producer.disconnect());

  const seen: number[] = [];
  let flakyFailures = 0;
  const consumer = new EventConsumer({
    kafka, codec, producer, groupId: randomName('g'), topics: ['work.v1'], logger: silent,
    handler: async (event) => {
      const data = event.data as { n: number; poison?: boolean; flaky?: boolean };
      if (data.poison) throw new HashCheckError('HC_TEST_POISON', 'cannot process this one');
      if (data.flaky && flakyFailures < 2) {
        flakyFailures += 1;
        throw new HashCheckError('HC_TEST_FLAKY', 'try again', { retriable: true });
      }
      seen.push(data.n);
    },
  });
  await consumer.start();
  t.after(() => consumer.stop());

  const events = [1, 2, 3, 4, 5].map((n) => createEvent(Work, { subject: `s-${n}`, source: 'test', data: { n } }));
  await producer.publish('work.v1', events);
  await producer.publish('work.v1', [createEvent(Work, { subject: 'p', source: 'test', data: { n: 99, poison: true } })]);
  await producer.publish('work.v1', [createEvent(Work, { subject: 'f', source: 'test', data: { n: 42, flaky: true } })]);
  await producer.publishRaw('work.v1', [{ key: 'junk', value: Buffer.from('not json at all'), headers: { partner: 'acme' } }]);

  const recorder = await new TopicRecorder(env.brokers).start([prefix + Topics.deadLetter]);
  t.after(() => recorder.stop());

  await waitFor(() => seen.length === 6, { what: 'six processed events', timeoutMs: 30_000 });
  assert.deepEqual([...seen].sort((a, b) => a - b), [1, 2, 3, 4, 5, 42]);
  assert.equal(flakyFailures, 2, 'the retriable failure was redelivered until it succeeded');

  const dead = await recorder.waitForCount(prefix + Topics.deadLetter, 2);
  const junk = dead.find((m) => m.key === 'junk');
  assert.ok(junk, 'undecodable message dead-lettered');
  assert.equal(junk.value?.toString(), 'not json at all', 'original bytes kept');
  assert.equal(junk.headers.partner, 'acme', 'original headers kept');
  assert.equal(junk.headers[Header.DLQ_ERROR_CODE], 'HC_EVENT_DECODE');
  const poison = dead.find((m) => m.key === 'p');
  assert.equal(poison?.headers[Header.DLQ_ERROR_CODE], 'HC_TEST_POISON');
  assert.equal(poison?.headers[Header.DLQ_ORIGINAL_TOPIC], 'work.v1');
  assert.ok(consumer.connected);
});

test('broker probe reports an unreachable broker quickly instead of hanging', async () => {
  const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
  const kafka = createKafka({ brokers: '127.0.0.1:1', clientId: 'probe', connectionTimeoutMs: 300, logger: quiet });
  const probe = new BrokerProbe(kafka, 0, 1500);
  const started = Date.now();
  const r = await probe.check();
  assert.equal(r.ok, false);
  assert.ok(r.error);
  assert.ok(Date.now() - started < 10_000);
  await probe.close();
});

test('consumer lag: what a group has not processed yet, per partition', async (t) => {
  const env = infra(t);
  if (!env) return;
  const { reg, prefix, Work, codec } = setup();
  const kafka = createKafka({ brokers: env.brokers, clientId: 'lag-test' });
  await ensureTopics(kafka, reg.topics(), { prefix });
  const producer = new EventProducer(kafka, codec, prefix);
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.publish('work.v1', [1, 2, 3, 4].map((n) => createEvent(Work, { subject: `k-${n}`, source: 'test', data: { n } })));
  const group = randomName('lag');
  const monitor = new LagMonitor(kafka);
  monitor.watch(group, [`${prefix}work.v1`]);
  t.after(() => monitor.stop());
  const before = await monitor.refresh();
  assert.equal(before.reduce((a, s) => a + s.lag, 0), 4, 'nothing consumed yet: all four outstanding');
  let seen = 0;
  const consumer = new EventConsumer({ kafka, codec, producer, groupId: group, topics: ['work.v1'], logger: silent, handler: async () => { seen += 1; } });
  await consumer.start();
  t.after(() => consumer.stop());
  await waitFor(() => seen === 4, { what: 'four consumed' });
  await waitFor(async () => (await monitor.refresh()).reduce((a, s) => a + s.lag, 0) === 0, { what: 'lag back to zero after commits' });
});

test('several services creating the same topics at once all succeed', async (t) => {
  const env = infra(t);
  if (!env) return;
  const { reg, prefix } = setup();
  const kafka = createKafka({ brokers: env.brokers, clientId: 'race' });
  await Promise.all([1, 2, 3, 4].map(() => ensureTopics(kafka, reg.topics(), { prefix })));
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const topics = await admin.listTopics();
  for (const spec of reg.topics()) assert.ok(topics.includes(prefix + spec.name), `${spec.name} exists`);
  assert.deepEqual(await ensureTopics(kafka, reg.topics(), { prefix }), [], 'nothing left to create');
});
