/**
 * An activation is two writes: the list takes the release, then the release is marked active.
 * One that stops in between must be finished by activating again, and the release must not be
 * discardable meanwhile: its chunks are what every instance matches with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { infra } from '@hashcheck/testing';
import { ADMIN_KEY, bearer, freshEnv, hex, startApp } from './helpers';

test('an activation interrupted after the list took the release is finished by activating again, and the release cannot be discarded meanwhile', async (t) => {
  const env = infra(t);
  if (!env) return;
  const app = await startApp(t, env, freshEnv());
  const admin = bearer(ADMIN_KEY);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: 'hotline-nl', name: 'Hotline', kind: 'hotline' } })).statusCode, 201);
  const hotline = bearer((await app.inject({ method: 'POST', url: '/v1/tenants/hotline-nl/keys', headers: admin, payload: { name: 'analysts', scopes: ['hotline', 'checker'] } })).json().key as string);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/lists', headers: hotline, payload: { id: 'police-nl', name: 'Politie NL', source: 'police', category: 'csam-a', owner: 'Politie', threshold: 31 } })).statusCode, 201);

  const checkOne = async (hash: string): Promise<boolean> => {
    const res = await app.inject({ method: 'POST', url: '/v1/check', headers: hotline, payload: { items: [{ type: 'md5', hash }] } });
    return res.json().results[0].match as boolean;
  };
  for (const mode of ['full', 'delta'] as const) {
    const hash = hex(16);
    const imported = await app.inject({ method: 'POST', url: `/v1/lists/police-nl/releases?mode=${mode}`, headers: { ...hotline, 'content-type': 'text/csv' }, payload: `hash,type\n${hash},md5\n` });
    assert.equal(imported.statusCode, 201, imported.body);
    const releaseId = imported.json().release.id as string;
    const url = `/v1/lists/police-nl/releases/${releaseId}`;

    // The process "dies" right after the list took the release.
    const releases = app.hashCheck.lists.releases;
    const updateOne = releases.updateOne.bind(releases);
    releases.updateOne = (async () => { throw new Error('simulated crash before the release was marked active'); }) as typeof releases.updateOne;
    const interrupted = await app.inject({ method: 'POST', url: `${url}/activate`, headers: hotline });
    releases.updateOne = updateOne;
    assert.equal(interrupted.statusCode, 500, interrupted.body);
    const list = (await app.inject({ url: '/v1/lists/police-nl', headers: hotline })).json();
    assert.ok(list.base === releaseId || list.patches.includes(releaseId), `${mode}: the list took the release`);
    assert.equal((await app.inject({ url, headers: hotline })).json().status, 'ready');

    const discard = await app.inject({ method: 'DELETE', url, headers: hotline });
    assert.equal(discard.statusCode, 409, `${mode}: ${discard.body}`);
    assert.equal(await app.hashCheck.lists.chunks.countDocuments({ releaseId }), 1, 'its chunks are kept');

    const again = await app.inject({ method: 'POST', url: `${url}/activate`, headers: hotline });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().status, 'active');
    const after = (await app.inject({ url: '/v1/lists/police-nl', headers: hotline })).json();
    assert.equal(after.revision, list.revision, `${mode}: finishing changed the list no further`);
    assert.equal(after.patches.filter((p: string) => p === releaseId).length, mode === 'delta' ? 1 : 0, 'applied once');
    await waitMatch(checkOne, hash);
  }
});

async function waitMatch(check: (hash: string) => Promise<boolean>, hash: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check(hash)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${hash} never matched`);
}
