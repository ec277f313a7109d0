/**
 * FerretDB 1.24 does not make an update atomic (a SELECT, then an UPDATE, no transaction), so two
 * writers of one document can lose a change. connectMongo gives a FerretDB client one connection,
 * which serialises what one process writes. These tests drive exactly the pattern the outbox relay
 * and a service produce: a service write and the relay's $pullAll on the same document at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMongo, type MongoHandle } from '@hashcheck/mongo';
import { databaseUri, infra, randomName } from '@hashcheck/testing';

interface Doc { _id: number; n: number; outbox: Array<{ id: string }> }

/** Every round: a service write with an outbox entry, then the relay's pull racing a second service write. */
async function race(handle: MongoHandle, docs: number, rounds: number): Promise<{ increments: number; lost: number; leftover: number }> {
  const c = handle.db.collection<Doc>('race');
  await c.insertMany(Array.from({ length: docs }, (_, i) => ({ _id: i, n: 0, outbox: [] })));
  for (let r = 0; r < rounds; r++) {
    await Promise.all(Array.from({ length: docs }, async (_, i) => {
      const entry = { id: `${i}-${r}` };
      await c.updateOne({ _id: i }, { $inc: { n: 1 }, $push: { outbox: entry } });
      await Promise.all([c.updateOne({ _id: i }, { $pullAll: { outbox: [entry] } }), c.updateOne({ _id: i }, { $inc: { n: 1 } })]);
    }));
  }
  const all = await c.find().toArray();
  return { increments: docs * rounds * 2, lost: all.reduce((s, d) => s + (2 * rounds - d.n), 0), leftover: all.reduce((s, d) => s + d.outbox.length, 0) };
}

test('concurrent updates of one document from one process lose nothing (the outbox relay beside a service)', async (t) => {
  const env = infra(t);
  if (!env) return;
  const handle = await connectMongo(databaseUri(env.mongoUri, randomName('race').replace(/-/g, '_')), { appName: 'race-test' });
  t.after(async () => { await handle.db.dropDatabase(); await handle.client.close(); });
  t.diagnostic(`server: ${handle.ferretdb ? 'FerretDB' : 'MongoDB'}, pool of ${handle.client.options.maxPoolSize}`);
  if (handle.ferretdb) assert.equal(handle.client.options.maxPoolSize, 1, 'a FerretDB client has one connection');
  const r = await race(handle, 10, 20);
  t.diagnostic(`${r.increments} increments, ${r.lost} lost, ${r.leftover} outbox entries left`);
  assert.equal(r.lost, 0, 'no service write was lost');
  assert.equal(r.leftover, 0, 'every pulled entry is gone');
});

test('an explicit pool size is kept, even on FerretDB (and there the race shows why the default is one)', async (t) => {
  const env = infra(t);
  if (!env) return;
  const handle = await connectMongo(databaseUri(env.mongoUri, randomName('race').replace(/-/g, '_')), { appName: 'race-test-pool', maxPoolSize: 50 });
  t.after(async () => { await handle.db.dropDatabase(); await handle.client.close(); });
  assert.equal(handle.client.options.maxPoolSize, 50);
  if (!handle.ferretdb) return;
  // Whether a write is lost depends on scheduling (34 of 200 in one run here), so it is shown, not required.
  const r = await race(handle, 10, 10);
  t.diagnostic(`pool of 50 on FerretDB: ${r.increments} increments, ${r.lost} lost, ${r.leftover} outbox entries left`);
});
