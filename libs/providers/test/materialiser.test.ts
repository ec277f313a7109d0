import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { ProviderMaterialiser, PROVIDER_VIEW_COLLECTION, type Provider } from '@hashcheck/providers';
import { databaseUri, failingOnce, infra, randomName } from '@hashcheck/testing';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

test('a state whose view write failed is applied, and announced, when its message is redelivered', async (t) => {
  const env = infra(t);
  if (!env) return;
  const client = new MongoClient(databaseUri(env.mongoUri, randomName('pview').replace(/-/g, '_')), { retryWrites: false });
  await client.connect();
  t.after(async () => {
    await client.db().dropDatabase();
    await client.close();
  });
  const changes: number[] = [];
  // apply() needs neither the broker nor the codec: only start() consumes.
  const materialiser = new ProviderMaterialiser({
    kafka: undefined as never, producer: undefined as never, codec: undefined as never, logger: silent, service: 'test',
    db: failingOnce(client.db(), PROVIDER_VIEW_COLLECTION, 'updateOne'),
    onChange: (p) => changes.push(p.revision),
  });
  const state: Provider = { id: 'p1', name: 'P1', country: 'NL', abuseContacts: [], domains: ['p1.example'], ipRanges: [], category: 'hosting-nl', revision: 1, updatedAt: new Date().toISOString() };

  await assert.rejects(materialiser.apply(state), /connection to the database was lost/);
  assert.equal(await materialiser.apply(state), true, 'the redelivery applies it');
  assert.deepEqual(changes, [1], 'and announces it, once');
  assert.equal(materialiser.resolve('www.p1.example')?.providerId, 'p1');
  assert.equal((await client.db().collection(PROVIDER_VIEW_COLLECTION).findOne({ _id: 'p1' as never }))?.revision, 1);
  assert.equal(await materialiser.apply(state), false, 'a replay changes nothing');
  assert.deepEqual(changes, [1]);
});
