/**
 * The local stack builds FerretDB with a patch (libs/stack/src/ferretdb-patches.ts) so that a
 * lookup by `_id` uses the `_id` index: without it every find, update and delete by `_id` scanned
 * the whole collection, and each report made the pipeline slower than the one before. FerretDB's
 * `explain` returns SQLite's query plan, which names the index or says SCAN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMongo } from '@hashcheck/mongo';
import { databaseUri, infra, randomName } from '@hashcheck/testing';

test('FerretDB finds documents by _id (one, $in, or _id beside other conditions) through the _id index, not a table scan', async (t) => {
  const env = infra(t);
  if (!env) return;
  const handle = await connectMongo(databaseUri(env.mongoUri, randomName('idindex').replace(/-/g, '_')), { appName: 'id-index-test' });
  t.after(async () => { await handle.db.dropDatabase(); await handle.client.close(); });
  if (!handle.ferretdb) {
    t.skip('the server is MongoDB, whose _id lookups always use the index');
    return;
  }
  const coll = handle.db.collection<{ _id: string; n: number }>('docs');
  await coll.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `doc-${i}`, n: i })));
  // An update finds its document with the same query as find (FerretDB's `explain` of an update does
  // not show the pushed-down filter, so find is the one whose plan can be checked).
  const plan = JSON.stringify((await handle.db.command({ explain: { find: 'docs', filter: { _id: 'doc-7' } } })).queryPlanner);
  t.diagnostic(`find by _id: ${plan}`);
  assert.match(plan, /SEARCH \S+ USING INDEX \S+__id_/, `the plan uses the _id index: ${plan}`);
  assert.doesNotMatch(plan, /\bSCAN\b/);
  assert.equal((await coll.findOne({ _id: 'doc-7' }))?.n, 7, 'and finds the right document');

  // `_id: { $in }` (the outbox relay's batch update) is narrowed in SQL too, and still exact.
  const inPlan = JSON.stringify((await handle.db.command({ explain: { find: 'docs', filter: { _id: { $in: ['doc-3', 'doc-9', 'nope'] } } } })).queryPlanner);
  t.diagnostic(`find by _id $in: ${inPlan}`);
  assert.match(inPlan, /SEARCH \S+ USING INDEX \S+__id_/, `the $in plan uses the _id index: ${inPlan}`);
  assert.deepEqual((await coll.find({ _id: { $in: ['doc-3', 'doc-9', 'nope'] } }).sort({ n: 1 }).toArray()).map((d) => d.n), [3, 9]);
  // `_id` beside other conditions (a compare-and-set) is narrowed by `_id`, and the rest still applies.
  const casPlan = JSON.stringify((await handle.db.command({ explain: { find: 'docs', filter: { _id: 'doc-4', n: 4 } } })).queryPlanner);
  t.diagnostic(`find by _id and n: ${casPlan}`);
  assert.match(casPlan, /SEARCH \S+ USING INDEX \S+__id_/, `the compound plan uses the _id index: ${casPlan}`);
  assert.equal((await coll.updateOne({ _id: 'doc-4', n: 5 }, { $set: { n: -1 } })).matchedCount, 0, 'a condition beside _id that does not hold matches nothing');
  assert.equal((await coll.updateOne({ _id: 'doc-4', n: 4 }, { $set: { n: 40 } })).modifiedCount, 1);
  assert.equal((await coll.findOne({ _id: 'doc-4' }))?.n, 40);
  const r = await coll.updateMany({ _id: { $in: ['doc-1', 'doc-2'] } }, { $inc: { n: 100 } });
  assert.equal(r.modifiedCount, 2);
  assert.deepEqual((await coll.find({ n: { $gte: 100 } }).sort({ n: 1 }).toArray()).map((d) => d._id), ['doc-1', 'doc-2']);
});
