import assert from 'node:assert/strict';
import { test } from 'node:test';
import { infra, waitFor } from '@hashcheck/testing';
import { ADMIN_KEY, basic, bearer, freshEnv, hex, startApp } from './helpers';

test('every instance converges within seconds through the change topic; a new instance loads the lists at start', async (t) => {
  const env = infra(t);
  if (!env) return;
  const e = freshEnv();
  // The safety-net poll is off (10 min): convergence here comes from Kafka alone.
  const a = await startApp(t, env, e);
  const admin = bearer(ADMIN_KEY);
  assert.equal((await a.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'ncmec', name: 'NCMEC', source: 'ncmec', category: 'csam', owner: 'NCMEC' } })).statusCode, 201);
  const first = hex(16);
  const lines = [first, ...Array.from({ length: 999 }, () => hex(16))].join('\n');
  const imp = await a.inject({ method: 'POST', url: '/v1/lists/ncmec/releases?activate=true&type=md5', headers: { ...admin, 'content-type': 'text/plain' }, payload: lines });
  assert.equal(imp.statusCode, 201, imp.body);

  const b = await startApp(t, env, e);
  assert.equal(b.hashCheck.engine.index.stats().types.md5.entries, 1000, 'loaded from storage at start');
  await a.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: 'host-a', name: 'A', kind: 'hosting' } });
  const key = (await a.inject({ method: 'POST', url: '/v1/tenants/host-a/keys', headers: admin, payload: { name: 'k', scopes: ['checker'] } })).json().key as string;
  const ask = async (app: typeof a, type: string, hash: string): Promise<string> => (await app.inject({ method: 'POST', url: `/v1/check/${type}`, headers: { ...basic('host-a', key), 'content-type': 'text/plain' }, payload: hash })).body;
  assert.equal(await ask(b, 'md5', first), 'true');

  // Add on A: B matches within seconds.
  const added = hex(32);
  const t0 = Date.now();
  assert.equal((await a.inject({ method: 'POST', url: '/v1/lists/ncmec/changes', headers: admin, payload: { add: [{ type: 'sha256', hash: added }] } })).statusCode, 200);
  assert.equal(await ask(a, 'sha256', added), 'true');
  await waitFor(async () => (await ask(b, 'sha256', added)) === 'true', { timeoutMs: 15_000, what: 'the addition on instance B' });
  const addMs = Date.now() - t0;
  // Retract on B: A stops matching within seconds.
  const t1 = Date.now();
  assert.equal((await b.inject({ method: 'POST', url: '/v1/lists/ncmec/changes', headers: admin, payload: { retract: [{ type: 'md5', hash: first }] } })).statusCode, 200);
  await waitFor(async () => (await ask(a, 'md5', first)) === 'false', { timeoutMs: 15_000, what: 'the retraction on instance A' });
  const retractMs = Date.now() - t1;
  // Disable on A: B stops matching everything of the list.
  assert.equal((await a.inject({ method: 'PATCH', url: '/v1/lists/ncmec', headers: admin, payload: { status: 'disabled' } })).statusCode, 200);
  await waitFor(async () => (await ask(b, 'sha256', added)) === 'false', { timeoutMs: 15_000, what: 'the disabled list on instance B' });
  // Both instances hold the same revision.
  const revA = a.hashCheck.engine.revisionOf('ncmec');
  await waitFor(() => b.hashCheck.engine.revisionOf('ncmec') === revA, { timeoutMs: 15_000, what: 'equal revisions' });
  t.diagnostic(`propagation: add ${addMs} ms, retract ${retractMs} ms`);
  assert.ok(addMs < 15_000 && retractMs < 15_000);
});
