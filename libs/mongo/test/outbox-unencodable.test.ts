/**
 * An outbox entry whose event fails its schema (a writer's bug) can never be published. The relay
 * sends all of a topic's entries in one request, so such an entry failed every entry beside it, on
 * every pass, for ever: the others were never published. It is dead-lettered with its reasons and
 * settled; the rest go out, in both kinds of outbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Header, registry, Topics, type EventEnvelope } from '@hashcheck/events';
import { createKafka, ensureTopics } from '@hashcheck/kafka';
import { OUTBOX_PENDING, outboxEntry, OutboxRelay, PendingMarks, type OutboxEntry } from '@hashcheck/mongo';
import { TopicRecorder, waitFor } from '@hashcheck/testing';
import { outboxFixture } from './outbox-fixture';

test('an entry whose event fails its schema is dead-lettered with its reasons; the entries beside it are published, and both kinds of outbox are left empty', async (t) => {
  const f = await outboxFixture(t, 'unencodable');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const brokers = process.env.KAFKA_BROKERS!;
  await ensureTopics(createKafka({ brokers, clientId: 'unencodable-test' }), [registry.topic(Topics.deadLetter)!]);
  const dlq = await new TopicRecorder(brokers).start([Topics.deadLetter]);
  t.after(() => dlq.stop());

  const errors: Array<{ o: object; m: string }> = [];
  const logger = { error: (o: object, m: string) => errors.push({ o, m }), debug: () => undefined, warn: () => undefined };
  const relay = new OutboxRelay({ db: mongo.db, collections: ['embedded', 'marked'], marked: ['marked'], producer, logger, intervalMs: 600_000 });
  // `n` must be an integer: these events were built past the schema, as a buggy writer would.
  const bad = (n: number): EventEnvelope => {
    const e = f.event(n, `s${n}`);
    return { ...e, data: { n: `not a number ${n}` } } as unknown as EventEnvelope;
  };

  // Embedded outbox: one document holds a bad entry between two good ones, another only good ones.
  const embedded = mongo.db.collection<{ _id: string; outbox?: OutboxEntry[] }>('embedded');
  const mixed = [outboxEntry(topic, f.event(1, 's1')), outboxEntry(topic, bad(2)), outboxEntry(topic, f.event(3, 's3'))];
  await embedded.insertOne({ _id: 'mixed', outbox: mixed });
  await embedded.insertOne({ _id: 'good', outbox: [outboxEntry(topic, f.event(4, 's4'))] });
  relay.notify({ collection: 'embedded', id: 'mixed', entries: mixed });

  // Marked outbox: the writer's marks, then the documents; one bad entry among them.
  const marks = new PendingMarks(mongo.db);
  const markedColl = mongo.db.collection<{ _id: string; events?: OutboxEntry[] }>('marked');
  const markedEntries: OutboxEntry[] = [];
  for (const [i, event] of [f.event(5, 's5'), bad(6), f.event(7, 's7')].entries()) {
    const events = [outboxEntry(topic, event)];
    await marks.mark('marked', `m${i}`, events);
    await markedColl.insertOne({ _id: `m${i}`, events });
    relay.notify({ collection: 'marked', id: `m${i}`, entries: events });
    markedEntries.push(...events);
  }

  // The first drain settles everything: nothing is left for the next.
  assert.equal(await relay.drain(), 7, 'every entry settled: five published, two dead-lettered');
  assert.equal(await relay.drain(), 0, 'nothing pending after the first drain');
  assert.equal(await embedded.countDocuments({ 'outbox.id': { $exists: true } }), 0, 'the embedded outbox is empty');
  assert.equal(await mongo.db.collection(OUTBOX_PENDING).countDocuments({}), 0, 'no mark is left');

  await waitFor(() => recorder.on(topic).length >= 5 || undefined, { what: 'five events published', timeoutMs: 30_000 });
  const badIds = new Set([mixed[1]!.id, markedEntries[1]!.id]);
  const dead = await waitFor(() => {
    const found = dlq.on(Topics.deadLetter).filter((m) => badIds.has(m.headers[Header.EVENT_ID] ?? ''));
    return found.length >= 2 ? found : undefined;
  }, { what: 'both bad events on the dead-letter topic', timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(f.published().sort((a, b) => a - b), [1, 3, 4, 5, 7], 'each good event exactly once, no bad one');

  assert.equal(dlq.on(Topics.deadLetter).filter((m) => badIds.has(m.headers[Header.EVENT_ID] ?? '')).length, 2, 'each bad event dead-lettered once');
  for (const m of dead) {
    assert.equal(m.headers[Header.DLQ_ORIGINAL_TOPIC], topic);
    assert.equal(m.headers[Header.DLQ_SOURCE], 'outbox');
    assert.equal(m.headers[Header.DLQ_ERROR_CODE], 'HC_EVENT_SCHEMA');
    assert.match(m.headers[Header.DLQ_ERROR_MESSAGE] ?? '', /n/, 'the reason names the field');
    const event = m.json<EventEnvelope & { data: { n: unknown } }>();
    assert.match(String(event.data.n), /^not a number [26]$/, 'the event as stored, so it can be mended and replayed');
    assert.equal(m.key, event.subject, 'keyed by its subject, as it would have been');
  }
  assert.ok(errors.some((e) => /dead-lettered/.test(e.m)), 'the relay logs the dead-lettering as an error');
});
