import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxEntry, OutboxRelay } from '@hashcheck/mongo';
import { outboxFixture } from './outbox-fixture';

/**
 * More hinted documents than one batch (100): the relay used to remove a batch's entries with one
 * 100-statement bulkWrite, which never answered on FerretDB 1.24 (docs/reliability.md, "Known
 * limits"); this drain would then hang until the test timed out.
 */
test('the relay drains more hinted documents than one batch, each entry published once and removed', async (t) => {
  const f = await outboxFixture(t, 'outbox-many', 3);
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;

  const N = 130;
  const coll = mongo.db.collection<{ _id: string; outbox: unknown[] }>('things');
  await coll.insertMany(Array.from({ length: N }, (_, n) => ({ _id: `d${n}`, outbox: [outboxEntry(topic, f.event(n, `s${n}`))] })));
  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], producer, logger: { error: () => undefined, debug: () => undefined } });
  for (let n = 0; n < N; n++) relay.notify({ collection: 'things', id: `d${n}` });
  assert.equal(await relay.drain(), N);
  assert.equal(await relay.drain(), 0, 'nothing left for a second pass');
  assert.equal(await coll.countDocuments({ 'outbox.0': { $exists: true } }), 0, 'every entry removed');
  const got = await recorder.waitForCount(topic, N, 60_000);
  assert.deepEqual(new Set(got.map((m) => m.json<{ data: { n: number } }>().data.n)).size, N, 'each document\'s event, once');
});
