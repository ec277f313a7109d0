/**
 * Entries a writer hands to the relay (`notify({ collection, id, entries })`) are published without
 * reading the document back, and removed by one batch update. They are published once even when a
 * sweep got to the document first, and removed even when they do not compare equal to the stored
 * entries (removed by id then, not published again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEntry, OutboxRelay, type OutboxEntry } from '@hashcheck/mongo';
import { waitFor } from '@hashcheck/testing';
import { outboxFixture } from './outbox-fixture';

test('handed-over entries: published once (even after a sweep), removed in one update, or by id when they differ', async (t) => {
  const f = await outboxFixture(t, 'given');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const coll = mongo.db.collection<{ _id: string; outbox?: OutboxEntry[] }>('things');
  const logger = { error: () => undefined, debug: () => undefined };
  const ev = (n: number) => f.event(n, `s${n}`);
  const published = () => f.published().sort((a, b) => a - b);

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
