import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMongo, ensureIndexes, OUTBOX_INDEX, type CollectionIndexes } from '@hashcheck/mongo';
import { databaseUri, infra, randomName } from '@hashcheck/testing';

// A restarted service, or a second instance, runs ensureIndexes on a database that has them all.
test('ensureIndexes twice on the same collections (restart, second instance) succeeds and changes nothing', async (t) => {
  const env = infra(t);
  if (!env) return;
  const { client, db } = await connectMongo(databaseUri(env.mongoUri, randomName('idx').replace(/-/g, '_')), { appName: 'test' });
  t.after(async () => { await db.dropDatabase(); await client.close(); });
  const specs: CollectionIndexes[] = [{ collection: 'reports', indexes: [{ ...OUTBOX_INDEX }, { key: { caseId: 1 }, name: 'by_case' }, { key: { caseKey: 1 }, name: 'by_case_key' }] }];
  await ensureIndexes(db, specs);
  await ensureIndexes(db, specs);
  const names = (await db.collection('reports').listIndexes().toArray()).map((i) => i.name as string).sort();
  assert.deepEqual(names, ['_id_', 'by_case', 'by_case_key', OUTBOX_INDEX.name].sort());
  assert.deepEqual((await db.command({ ping: 1 })).ok, 1, 'the connection survived');
});
