/**
 * ConsumerOutbox: a consumer handler publishes the events of the document it wrote and waits for the
 * broker; the ledger tells a replay (publish nothing) from a redelivery after a crash (publish what
 * the crash kept back). Real broker and database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { isRetriable } from '@hashcheck/errors';
import { EventProducer } from '@hashcheck/kafka';
import { ConsumerOutbox, OUTBOX_PUBLISHED, outboxEntry, type OutboxEntry, type PublishedRecord } from '@hashcheck/mongo';
import { waitFor } from '@hashcheck/testing';
import { outboxFixture } from './outbox-fixture';

const logger = { warn: () => undefined, error: () => undefined };

test('concurrent publishes share one request and are recorded; a later instance publishes only what the ledger lacks', async (t) => {
  const f = await outboxFixture(t, 'consumer-outbox');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const sends: number[] = [];
  const counting = { publishTraced: async (...args: Parameters<typeof producer.publishTraced>) => { sends.push(args[1].length); await producer.publishTraced(...args); } };
  const outbox = new ConsumerOutbox(mongo.db, counting, logger);

  const entries: OutboxEntry[][] = Array.from({ length: 50 }, (_, n) => [outboxEntry(topic, f.event(n, `s${n}`))]);
  await Promise.all(entries.map((e) => outbox.publish(e)));
  assert.deepEqual(sends, [50], 'the 50 handlers of one batch went out in one request');
  await waitFor(() => recorder.on(topic).length >= 50 || undefined, { what: '50 events' });
  await waitFor(async () => ((await mongo.db.collection(OUTBOX_PUBLISHED).countDocuments({})) === 50 ? true : undefined), { what: 'the ledger to record all 50' });

  // The same instance knows what it published without reading the ledger.
  assert.equal(await outbox.publishUnrecorded(entries[3]), 0);
  assert.equal(await outbox.countUnrecorded(entries[3]), 0);

  // A new instance (after a restart): a replay of the same input finds every event recorded; a
  // document whose publish a crash kept back (never recorded) is published, once.
  const after = new ConsumerOutbox(mongo.db, producer, logger);
  const kept = [outboxEntry(topic, f.event(900, 's900'))];
  assert.equal(await after.countUnrecorded(kept), 1, 'not published yet: the status says so');
  let published = 0;
  for (const e of [...entries, kept]) published += await after.publishUnrecorded(e);
  assert.equal(published, 1, 'only the event the crash kept back');
  assert.equal(await after.publishUnrecorded(kept), 0, 'and only once');
  await waitFor(() => recorder.on(topic).length >= 51 || undefined, { what: 'the kept-back event' });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(f.published().sort((a, b) => a - b), [...Array.from({ length: 50 }, (_, n) => n), 900], 'each event exactly once');
});

test('a failed publish fails every handler waiting on it with a retriable error, so their inputs are redelivered', async (t) => {
  const f = await outboxFixture(t, 'consumer-outbox-fail');
  if (!f) return;
  const { topic, mongo } = f;
  // A real producer, with few retries, publishing to a topic the broker does not have (and will not
  // create): kafkajs gives up with an error it marks not retriable.
  const kafka = new Kafka({ clientId: 'consumer-outbox-fail', brokers: process.env.KAFKA_BROKERS!.split(','), retry: { retries: 1, initialRetryTime: 100 }, logLevel: logLevel.NOTHING });
  const producer = new EventProducer(kafka, f.producer.codec);
  await producer.connect();
  t.after(() => producer.disconnect());
  const outbox = new ConsumerOutbox(mongo.db, producer, logger);
  const missing = `${topic}-missing`;
  const entries = [0, 1, 2].map((n) => [{ ...outboxEntry(topic, f.event(n)), topic: missing }]);
  const results = await Promise.allSettled(entries.map((e) => outbox.publish(e)));
  assert.equal(results.length, 3);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    const reason = (r as PromiseRejectedResult).reason as Error;
    assert.equal(isRetriable(reason.cause), false, `kafkajs gave up with an error it calls final: ${String(reason.cause)}`);
    assert.ok(isRetriable(reason), 'retriable: the consumer redelivers instead of dead-lettering');
  }
  assert.equal(await mongo.db.collection(OUTBOX_PUBLISHED).countDocuments({}), 0, 'nothing recorded as published');
  assert.equal(await outbox.countUnrecorded(entries[0]), 1, 'still unpublished as far as anyone knows');
  assert.equal(f.published().length, 0);
});

test('the ledger is pruned past its retention, one interval after the start and then periodically, and pruning stops with its owner', async (t) => {
  const f = await outboxFixture(t, 'consumer-outbox-prune');
  if (!f) return;
  const { mongo } = f;
  const ledger = mongo.db.collection<PublishedRecord>(OUTBOX_PUBLISHED);
  const DAY = 24 * 60 * 60 * 1000;
  const now = Date.now();
  await ledger.insertMany([
    { _id: 'old-1', at: new Date(now - 20 * DAY) },
    { _id: 'old-2', at: new Date(now - 16 * DAY) },
    { _id: 'kept', at: new Date(now - 14 * DAY) },
    { _id: 'new', at: new Date(now) },
  ]);
  const errors: unknown[] = [];
  const watched = new ConsumerOutbox(mongo.db, f.producer, { warn: () => undefined, error: (o) => errors.push(o) });
  const stop = watched.startPruning({ retainMs: 15 * DAY, everyMs: 200 });
  await waitFor(async () => ((await ledger.countDocuments({})) === 2 ? true : undefined), { what: 'the first pass' });
  assert.deepEqual((await ledger.find().sort({ _id: 1 }).toArray()).map((r) => r._id), ['kept', 'new']);
  // Periodic: a record that ages past the retention goes in a later pass.
  await ledger.insertOne({ _id: 'aged', at: new Date(now - 30 * DAY) });
  await waitFor(async () => ((await ledger.countDocuments({ _id: 'aged' })) === 0 ? true : undefined), { what: 'a later pass' });
  await stop();
  await ledger.insertOne({ _id: 'after-stop', at: new Date(now - 30 * DAY) });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await ledger.countDocuments({ _id: 'after-stop' }), 1, 'no pass after stop');
  assert.deepEqual(errors, []);
});

test('an event that does not match its schema fails its own handler for good; the others of the request go out', async (t) => {
  const f = await outboxFixture(t, 'consumer-outbox-invalid');
  if (!f) return;
  const outbox = new ConsumerOutbox(f.mongo.db, f.producer, logger);
  const bad = f.event(2, 's2');
  (bad.data as Record<string, unknown>).extra = 'not in the schema';
  const results = await Promise.allSettled([outboxEntry(f.topic, f.event(1, 's1')), outboxEntry(f.topic, bad), outboxEntry(f.topic, f.event(3, 's3'))].map((e) => outbox.publish([e])));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const err = (results[1] as PromiseRejectedResult).reason as Error & { code?: string };
  assert.equal(err.code, 'HC_EVENT_SCHEMA');
  assert.equal(isRetriable(err), false, 'redelivering it could never help');
  assert.match(err.message, /extra/);
  await waitFor(() => (f.published().length >= 2 ? true : undefined), { what: 'the two valid events' });
  assert.deepEqual(f.published().sort(), [1, 3]);
});
