import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEntry, OutboxRelay } from '@hashcheck/mongo';
import { outboxFixture } from './outbox-fixture';

test('the relay publishes each outbox entry once and removes exactly those it published', async (t) => {
  const f = await outboxFixture(t, 'outbox');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const coll = mongo.db.collection<{ _id: string; outbox?: unknown[] }>('things');
  const ev = (n: number) => f.event(n);
  await coll.insertOne({ _id: 'a', outbox: [outboxEntry(topic, ev(1)), outboxEntry(topic, ev(2))] });
  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], producer, logger: { error: () => undefined, debug: () => undefined } });
  assert.equal(await relay.drain(), 2);
  await coll.updateOne({ _id: 'a' }, { $push: { outbox: outboxEntry(topic, ev(3)) } });
  assert.equal(await relay.drain(), 1, 'only the new entry is left to publish');
  assert.equal(await relay.drain(), 0);
  assert.deepEqual((await coll.findOne({ _id: 'a' }))?.outbox, []);
  const got = await recorder.waitForCount(topic, 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(recorder.on(topic).map((m) => m.json<{ data: { n: number } }>().data.n), [1, 2, 3]);
  assert.equal(got.length, 3);

  // Running, with sweeps far apart: a hinted write goes out at once, by _id; an unhinted one waits
  // for the sweep that notify() without a hint asks for.
  const sweeping = new OutboxRelay({ db: mongo.db, collections: ['things'], producer, logger: { error: () => undefined, debug: () => undefined }, intervalMs: 60_000 });
  sweeping.start();
  t.after(() => sweeping.stop());
  await new Promise((r) => setTimeout(r, 300));
  await coll.insertOne({ _id: 'b', outbox: [outboxEntry(topic, ev(4)), outboxEntry(topic, ev(5))] });
  await coll.insertOne({ _id: 'c', outbox: [outboxEntry(topic, ev(6))] });
  sweeping.notify({ collection: 'things', id: 'b' });
  await recorder.waitForCount(topic, 5, 10_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(recorder.on(topic).map((m) => m.json<{ data: { n: number } }>().data.n), [1, 2, 3, 4, 5], 'the hinted document only, in order');
  sweeping.notify();
  await recorder.waitForCount(topic, 6, 10_000);
  assert.deepEqual((await coll.findOne({ _id: 'c' }))?.outbox, []);
});
