/**
 * What a database failure in the middle of an operation leaves in memory: nothing that outlives the
 * outage. Real broker and database; the failure is one call of the store's made to throw, as a
 * dropped connection would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectMongo } from '@hashcheck/mongo';
import { connectionLost, databaseUri, failingOnce, infra, randomName } from '@hashcheck/testing';
import { ListEngine } from '../src/engine/list-engine';
import { Collections } from '../src/store/collections';
import { TenantStore } from '../src/store/tenants';
import { ADMIN_KEY, bearer, freshEnv, hex, startApp } from './helpers';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

test('usage counts of every tenant survive a flush that fails part-way', async (t) => {
  const env = infra(t);
  if (!env) return;
  const handle = await connectMongo(databaseUri(env.mongoUri, randomName('hcusage').replace(/-/g, '_')), { appName: 'usage-test' });
  t.after(async () => {
    await handle.db.dropDatabase();
    await handle.client.close();
  });
  // The first tenant's write fails: none of the three is written by that flush.
  const tenants = new TenantStore(failingOnce(handle.db, Collections.USAGE, 'updateOne'), 0);
  const byType = { md5: 1, sha1: 0, sha256: 0, pdq: 0 };
  for (const id of ['t-a', 't-b', 't-c']) tenants.count(id, { queries: 1, matches: 0, invalid: 0, byType });

  await assert.rejects(tenants.flushUsage(), /connection to the database was lost/);
  await tenants.flushUsage();

  const stored = await tenants.usage.find({}).toArray();
  assert.deepEqual(stored.map((u) => [u.tenantId, u.requests, u.queries]).sort(), [['t-a', 1, 1], ['t-b', 1, 1], ['t-c', 1, 1]], 'each tenant counted once, none lost');
});

test('a list load that fails part-way leaves no second copy of the list in the index', async (t) => {
  const env = infra(t);
  if (!env) return;
  const app = await startApp(t, env, freshEnv());
  const admin = bearer(ADMIN_KEY);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'ncmec', name: 'NCMEC', source: 'ncmec', category: 'csam', owner: 'NCMEC' } })).statusCode, 201);
  const lines = Array.from({ length: 500 }, () => hex(16)).join('\n');
  const imp = await app.inject({ method: 'POST', url: '/v1/lists/ncmec/releases?activate=true&type=md5', headers: { ...admin, 'content-type': 'text/plain' }, payload: lines });
  assert.equal(imp.statusCode, 201, imp.body);

  // A second engine over the same store (the app's own syncs from Kafka stay out of the way): it
  // loads the list as a new generation, and reading the list's changes fails after the base is in.
  const store = app.hashCheck.lists;
  const engine = new ListEngine(store, silent);
  t.after(() => engine.close());
  const readDeltaChunks = store.readDeltaChunks.bind(store);
  let failed = false;
  store.readDeltaChunks = (ids) => {
    if (!failed) {
      failed = true;
      return Promise.reject(connectionLost());
    }
    return readDeltaChunks(ids);
  };
  t.after(() => { store.readDeltaChunks = readDeltaChunks; });

  await assert.rejects(engine.sync('ncmec'), /connection to the database was lost/);
  await engine.sync('ncmec');
  assert.equal(engine.index.listKeys().length, 1, `one copy of the list in the index (${engine.index.listKeys().join(', ')})`);
  // What a failed attempt had loaded goes at the next compaction.
  engine.index.compact();
  assert.equal(engine.index.stats().types.md5.entries, 500);
});
