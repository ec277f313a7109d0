import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTelemetry, shutdownTelemetry } from '@hashcheck/telemetry/sdk';

// The SDK must patch kafkajs before it is loaded, so everything that imports it comes in dynamically below.
const exporter = new InMemorySpanExporter();
startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
after(() => shutdownTelemetry());

const { Type } = await import('@sinclair/typebox');
const { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent, registry: system, Topics } = await import('@hashcheck/events');
const { createKafka, ensureTopics, EventConsumer, EventProducer } = await import('@hashcheck/kafka');
const { withSpan, withLinkedTrace, currentCarrier } = await import('@hashcheck/telemetry');
const { infra, randomName, waitFor } = await import('@hashcheck/testing');

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

/** Test topics (one partition each, plus the dead-letter topic) under a fresh prefix, one event type per topic, and a connected producer. */
async function topics(t: TestContext, brokers: string, names: string[]) {
  const reg = new EventRegistry();
  const prefix = `${randomName('trace')}.`;
  for (const name of names) reg.addTopic({ name: `${name}.v1`, partitions: 1, cleanupPolicy: CleanupPolicy.DELETE, description: name });
  reg.addTopic(system.topic(Topics.deadLetter)!);
  const types = names.map((name) => reg.add(defineEvent({ type: `test.${name}`, version: 1, topic: `${name}.v1`, description: name, schema: Type.Object({ n: Type.Integer() }) })));
  const type = (i: number) => types[i]!;
  const codec = new EventCodec(reg);
  const kafka = createKafka({ brokers, clientId: 'trace-test' });
  await ensureTopics(kafka, reg.topics(), { prefix });
  const producer = new EventProducer(kafka, codec, prefix);
  await producer.connect();
  t.after(() => producer.disconnect());
  return { prefix, type, codec, kafka, producer };
}

test('a message keeps its trace across two Kafka hops, and later work is linked, not parented', async (t) => {
  const env = infra(t);
  if (!env) return;
  const { prefix, type, codec, kafka, producer } = await topics(t, env.brokers, ['a', 'b']);
  const [A, B] = [type(0), type(1)];

  let stored: Record<string, string> | undefined;
  const hop1 = new EventConsumer({ kafka, codec, producer, groupId: randomName('g1'), topics: ['a.v1'], logger: silent,
    handler: async (e) => {
      await withSpan('hashcheck.validate', { 'hashcheck.report.id': e.subject }, async () => {
        await producer.publish('b.v1', [createEvent(B, { subject: e.subject, source: 't', data: { n: 2 } })]);
      });
    } });
  const hop2 = new EventConsumer({ kafka, codec, producer, groupId: randomName('g2'), topics: ['b.v1'], logger: silent,
    handler: async () => { stored = currentCarrier(); } });
  await hop1.start();
  await hop2.start();
  t.after(() => hop1.stop());
  t.after(() => hop2.stop());

  await withSpan('partner.publish', {}, () => producer.publish('a.v1', [createEvent(A, { subject: 'r-1', source: 'partner', data: { n: 1 } })]));
  await waitFor(() => stored, { what: 'second hop' });
  await withLinkedTrace('hashcheck.deadline', stored, {}, async () => undefined);

  const spans = exporter.getFinishedSpans();
  const root = spans.find((s) => s.name === 'partner.publish');
  assert.ok(root, 'partner span recorded');
  const traceId = root.spanContext().traceId;
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const names = inTrace.map((s) => s.name);
  // Producer and consumer spans from the kafkajs instrumentation, for both hops, in one trace.
  assert.ok(names.some((n) => n.includes(`${prefix}a.v1`) && n.startsWith('send')), `send a: ${names.join(', ')}`);
  assert.ok(names.some((n) => n.includes(`${prefix}a.v1`) && n.startsWith('process')), `process a: ${names.join(', ')}`);
  assert.ok(names.some((n) => n.includes(`${prefix}b.v1`) && n.startsWith('process')), `process b: ${names.join(', ')}`);
  assert.ok(names.includes('hashcheck.validate'));
  const deadline = spans.find((s) => s.name === 'hashcheck.deadline');
  assert.ok(deadline);
  assert.notEqual(deadline.spanContext().traceId, traceId, 'later work starts its own trace');
  assert.equal(deadline.links[0]?.context.traceId, traceId, 'and links back to the report');
});

test('a batch consumer: one process span per message, in the message\'s trace; no detached batch spans', async (t) => {
  const env = infra(t);
  if (!env) return;
  const { prefix, type, codec, kafka, producer } = await topics(t, env.brokers, ['c']);
  const C = type(0);
  const seen = new Set<string>();
  const consumer = new EventConsumer({ kafka, codec, producer, groupId: randomName('g3'), topics: ['c.v1'], logger: silent, batchConcurrency: 10,
    handler: async (e) => { seen.add(e.subject); } });
  await consumer.start();
  t.after(() => consumer.stop());

  await withSpan('partner.publish', {}, () => producer.publish('c.v1', [1, 2, 3, 4, 5].map((n) => createEvent(C, { subject: `r-${n}`, source: 'partner', data: { n } }))));
  await waitFor(() => seen.size === 5 || undefined, { what: 'five messages handled' });
  await new Promise((r) => setTimeout(r, 300));

  const spans = exporter.getFinishedSpans();
  // This test's partner span: the first test recorded one too.
  const traceId = spans.filter((s) => s.name === 'partner.publish').at(-1)!.spanContext().traceId;
  const topic = `${prefix}c.v1`;
  const processing = spans.filter((s) => s.name === `process ${topic}`);
  assert.equal(processing.length, 5, `one process span per message: ${processing.length}`);
  assert.ok(processing.every((s) => s.spanContext().traceId === traceId), 'each in the partner\'s trace');
  assert.equal(spans.filter((s) => s.name === `poll ${topic}`).length, 0, 'no batch span of a trace of its own');
});
