/**
 * The consumer's batch mode (`batchConcurrency` > 1) on the real broker: messages of one partition
 * run together, one key's messages stay in order, a retriable failure redelivers from the failed
 * message (nothing before it again, nothing lost), and a poison message is dead-lettered without
 * holding the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, Topics, createEvent, defineEvent, registry as systemRegistry } from '@hashcheck/events';
import { createKafka, ensureTopics, EventConsumer, EventProducer } from '@hashcheck/kafka';
import { HashCheckError } from '@hashcheck/errors';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

test('batch mode: concurrent within a partition, ordered per key, redelivers from a retriable failure, dead-letters poison', async (t) => {
  const env = infra(t);
  if (!env) return;
  const reg = new EventRegistry();
  const prefix = `${randomName('tb')}.`;
  // One partition: every message is in the same fetched batch, the hardest case for ordering.
  reg.addTopic({ name: 'work.v1', partitions: 1, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  reg.addTopic(systemRegistry.topic(Topics.deadLetter)!);
  const Work = reg.add(defineEvent({ type: 'test.work', version: 1, topic: 'work.v1', description: 'w', schema: Type.Object({ key: Type.String(), seq: Type.Integer(), poison: Type.Optional(Type.Boolean()), flaky: Type.Optional(Type.Boolean()) }) }));
  const codec = new EventCodec(reg);
  const kafka = createKafka({ brokers: env.brokers, clientId: 'batch-test' });
  await ensureTopics(kafka, reg.topics(), { prefix });
  const producer = new EventProducer(kafka, codec, prefix);
  await producer.connect();
  t.after(() => producer.disconnect());

  const keys = ['a', 'b', 'c', 'd'];
  const PER_KEY = 25;
  const events = [];
  for (let seq = 0; seq < PER_KEY; seq++) {
    for (const key of keys) {
      events.push(createEvent(Work, { subject: key, source: 'test', data: { key, seq, ...(key === 'c' && seq === 10 ? { flaky: true } : {}), ...(key === 'd' && seq === 5 ? { poison: true } : {}) } }));
    }
  }
  const done: Array<{ key: string; seq: number }> = [];
  const runs = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  let flakyLeft = 1;
  const consumer = new EventConsumer({
    kafka, codec, producer, groupId: randomName('g'), topics: ['work.v1'], logger: silent, batchConcurrency: 16,
    handler: async (event) => {
      const d = event.data as { key: string; seq: number; poison?: boolean; flaky?: boolean };
      runs.set(`${d.key}:${d.seq}`, (runs.get(`${d.key}:${d.seq}`) ?? 0) + 1);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        // Later messages finish first when run together: ordering must come from the consumer.
        await new Promise((r) => setTimeout(r, 30 - (d.seq % 5) * 5));
        if (d.poison) throw new HashCheckError('HC_TEST_POISON', 'cannot process this one');
        if (d.flaky && flakyLeft > 0) {
          flakyLeft--;
          throw new HashCheckError('HC_TEST_FLAKY', 'try again', { retriable: true });
        }
        done.push({ key: d.key, seq: d.seq });
      } finally {
        inFlight--;
      }
    },
  });
  const recorder = await new TopicRecorder(env.brokers).start([prefix + Topics.deadLetter]);
  t.after(() => recorder.stop());
  await producer.publish('work.v1', events);
  await consumer.start();
  t.after(() => consumer.stop());

  const expected = keys.length * PER_KEY - 1; // the poison message is dead-lettered, not done
  await waitFor(() => new Set(done.map((x) => `${x.key}:${x.seq}`)).size === expected, { what: `${expected} messages done`, timeoutMs: 90_000 });
  await recorder.waitForCount(prefix + Topics.deadLetter, 1, 30_000);
  t.diagnostic(`most messages in flight at once: ${maxInFlight}; runs: ${[...runs.values()].reduce((a, b) => a + b, 0)} for ${events.length} messages`);

  assert.ok(maxInFlight > 1, 'messages of one partition ran together');
  for (const key of keys) {
    // Redelivery after the retriable failure may repeat messages after it; their first completions keep order.
    const firsts: number[] = [];
    for (const x of done) if (x.key === key && !firsts.includes(x.seq)) firsts.push(x.seq);
    const want = Array.from({ length: PER_KEY }, (_, i) => i).filter((s) => !(key === 'd' && s === 5));
    assert.deepEqual(firsts, want, `key ${key} done in order`);
  }
  assert.equal(runs.get('c:10'), 2, 'the retriable failure was redelivered once');
  assert.equal(runs.get('d:5'), 1, 'the poison message ran once and was dead-lettered');
  for (const seq of [0, 1, 2]) assert.equal(runs.get(`a:${seq}`), 1, 'messages of a window that completed before the failure are not run again');
  assert.equal(recorder.on(prefix + Topics.deadLetter).length, 1);
});
