import assert from 'node:assert/strict';
import { test } from 'node:test';
import { infra } from '@hashcheck/testing';
import { ADMIN_KEY, basic, bearer, flipBits, freshEnv, hex, startApp } from './helpers';

test('lists, releases, the check APIs, auth, limits, usage and audit against a real broker and database', async (t) => {
  const env = infra(t);
  if (!env) return;
  const app = await startApp(t, env, freshEnv(), { CHECK_MAX_ITEMS: '100', CHECK_BODY_LIMIT_BYTES: '20000', IMPORT_CHUNK_SIZE: '64' });
  const admin = bearer(ADMIN_KEY);

  // Tenants and keys.
  assert.equal((await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: 'demo-hosting', name: 'Demo Hosting', kind: 'hosting' } })).statusCode, 201);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: 'demo-hosting', name: 'Again', kind: 'hosting' } })).statusCode, 409);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: 'hotline-nl', name: 'Hotline', kind: 'hotline' } })).statusCode, 201);
  const issued = await app.inject({ method: 'POST', url: '/v1/tenants/demo-hosting/keys', headers: admin, payload: { name: 'scanner', scopes: ['checker'] } });
  assert.equal(issued.statusCode, 201, issued.body);
  const checkerKey = issued.json().key as string;
  const hot = (await app.inject({ method: 'POST', url: '/v1/tenants/hotline-nl/keys', headers: admin, payload: { name: 'analysts', scopes: ['hotline', 'checker'] } })).json();
  const hotline = bearer(hot.key as string);
  const checker = bearer(checkerKey);
  const keys = await app.inject({ method: 'GET', url: '/v1/tenants/demo-hosting/keys', headers: admin });
  assert.ok(!keys.body.includes(checkerKey) && !keys.body.includes('sha256'), 'key listings never show keys or their hashes');

  // Authentication and scopes.
  const noKey = await app.inject({ method: 'POST', url: '/v1/check', payload: { items: [{ type: 'md5', hash: hex(16) }] } });
  assert.equal(noKey.statusCode, 401);
  assert.equal(noKey.json().error.code, 'HC_UNAUTHORIZED');
  assert.equal((await app.inject({ method: 'POST', url: '/v1/check', headers: bearer('hck_0123456789abcdef_' + 'x'.repeat(43)), payload: { items: [] } })).statusCode, 401);
  const wrongScope = await app.inject({ method: 'GET', url: '/v1/lists', headers: checker });
  assert.equal(wrongScope.statusCode, 403);
  assert.equal(wrongScope.json().error.code, 'HC_FORBIDDEN');
  assert.equal((await app.inject({ method: 'GET', url: '/v1/tenants', headers: hotline })).statusCode, 403);

  // A list and a full release from NDJSON with malformed lines.
  const created = await app.inject({ method: 'POST', url: '/v1/lists', headers: hotline, payload: { id: 'police-nl', name: 'Politie NL', source: 'police', category: 'csam-a', owner: 'Politie', threshold: 31 } });
  assert.equal(created.statusCode, 201, created.body);
  const md5s = Array.from({ length: 200 }, () => hex(16));
  const sha256 = hex(32);
  const pdq = hex(32);
  const lines = [
    ...md5s.map((h) => JSON.stringify({ type: 'md5', hash: h })),
    JSON.stringify({ type: 'sha256', hash: sha256, category: 'csam-b', series: 'series-7' }),
    JSON.stringify({ type: 'pdq', hash: pdq }),
    '{"type":"md5","hash":"xyz"}',
    'garbage',
  ];
  // A JSON body is not a list file, whatever ?format= says: refused before a release is opened.
  const asJson = await app.inject({ method: 'POST', url: '/v1/lists/police-nl/releases?format=ndjson', headers: { ...hotline, 'content-type': 'application/json' }, payload: '{}' });
  assert.equal(asJson.statusCode, 415, asJson.body);
  const none = await app.inject({ url: '/v1/lists/police-nl/releases', headers: hotline });
  assert.equal(none.statusCode, 200, none.body);
  assert.equal(none.json().releases.length, 0, 'no failed release left behind');
  const imported = await app.inject({ method: 'POST', url: '/v1/lists/police-nl/releases?activate=true', headers: { ...hotline, 'content-type': 'application/x-ndjson' }, payload: lines.join('\n') + '\n' });
  assert.equal(imported.statusCode, 201, imported.body);
  const rel = imported.json().release;
  assert.equal(imported.json().activated, true);
  assert.equal(rel.status, 'active');
  assert.deepEqual(rel.counts.add, { md5: 200, sha1: 0, sha256: 1, pdq: 1 });
  assert.equal(rel.errorCount, 2);
  assert.deepEqual(rel.errors, [
    { line: 203, reason: 'a md5 hash is 32 hex digits, got 3 characters' },
    { line: 204, reason: 'not valid JSON' },
  ]);
  assert.equal(rel.chunks, 6, '200 md5 in chunks of 64, one sha256, one pdq chunk');

  // Stored encrypted: no imported hash appears in the chunk documents.
  const raw = await app.hashCheck.lists.chunks.find({ releaseId: rel.id }).toArray();
  const blob = Buffer.concat(raw.map((d) => Buffer.from(d.data.buffer)));
  for (const h of [...md5s.slice(0, 20), sha256, pdq]) assert.equal(blob.indexOf(Buffer.from(h, 'hex')), -1, 'a hash in clear in the database');

  // Bulk check: in order, mixed, invalid items answered on their own.
  const near = flipBits(pdq, 20);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/check',
    headers: checker,
    payload: { items: [{ type: 'md5', hash: (md5s[0] as string).toUpperCase() }, { type: 'md5', hash: hex(16) }, { type: 'sha256', hash: sha256 }, { type: 'pdq', hash: near }, { type: 'pdq', hash: flipBits(pdq, 32) }, { type: 'crc32', hash: 'abcd' }, { type: 'sha1', hash: 'abc' }] },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.headers['content-type'] as string, /application\/json/);
  assert.deepEqual(res.json(), {
    results: [
      { index: 0, match: true, matches: [{ list: 'police-nl', listName: 'Politie NL', category: 'csam-a', distance: 0 }] },
      { index: 1, match: false },
      { index: 2, match: true, matches: [{ list: 'police-nl', listName: 'Politie NL', category: 'csam-b', distance: 0 }] },
      { index: 3, match: true, matches: [{ list: 'police-nl', listName: 'Politie NL', category: 'csam-a', distance: 20 }] },
      { index: 4, match: false },
      { index: 5, error: { code: 'HC_UNKNOWN_HASH_TYPE', message: 'unknown hash type "crc32": md5, sha1, sha256 or pdq' } },
      { index: 6, error: { code: 'HC_INVALID_HASH', message: 'a sha1 hash is 40 hex digits' } },
    ],
  });
  assert.ok(!res.body.includes('series-7'), 'the series id is not part of a check answer');

  // Whole-request errors.
  const tooMany = await app.inject({ method: 'POST', url: '/v1/check', headers: checker, payload: { items: Array.from({ length: 101 }, () => ({ type: 'md5', hash: hex(16) })) } });
  assert.equal(tooMany.statusCode, 400);
  assert.equal(tooMany.json().error.code, 'HC_TOO_MANY_ITEMS');
  const tooBig = await app.inject({ method: 'POST', url: '/v1/check', headers: { ...checker, 'content-type': 'application/json' }, payload: JSON.stringify({ items: [{ type: 'md5', hash: 'a'.repeat(30_000) }] }) });
  assert.equal(tooBig.statusCode, 413);
  assert.equal(tooBig.json().error.code, 'HC_PAYLOAD_TOO_LARGE');
  const notJson = await app.inject({ method: 'POST', url: '/v1/check', headers: { ...checker, 'content-type': 'application/json' }, payload: '{"items":' });
  assert.equal(notJson.statusCode, 400);
  assert.equal(notJson.json().error.code, 'HC_MALFORMED_BODY');
  const empty = await app.inject({ method: 'POST', url: '/v1/check', headers: { ...checker, 'content-type': 'application/json' }, payload: '' });
  assert.equal(empty.statusCode, 400);

  // EOKM-compatible single-hash API.
  const eokm = (type: string, body: string, auth = basic('demo-hosting', checkerKey)) => app.inject({ method: 'POST', url: `/v1/check/${type}`, headers: { ...auth, 'content-type': 'text/plain' }, payload: body });
  const yes = await eokm('md5', `${md5s[1]}\n`);
  assert.equal(yes.statusCode, 200, yes.body);
  assert.equal(yes.body, 'true');
  assert.match(yes.headers['content-type'] as string, /text\/plain/);
  assert.equal((await eokm('md5', hex(16))).body, 'false');
  assert.equal((await eokm('md5', 'nothex')).json().error.code, 'HC_INVALID_HASH');
  assert.equal((await eokm('md4', hex(16))).json().error.code, 'HC_UNKNOWN_HASH_TYPE');
  const wrongUser = await eokm('md5', hex(16), basic('hotline-nl', checkerKey));
  assert.equal(wrongUser.statusCode, 401);
  assert.match(wrongUser.headers['www-authenticate'] as string, /^Basic/);
  const noBody = await app.inject({ method: 'POST', url: '/v1/check/md5', headers: basic('demo-hosting', checkerKey) });
  assert.equal(noBody.statusCode, 400);

  // Single changes: an added hash matches at once; a retracted one stops at once.
  const added = hex(20);
  assert.equal((await eokm('sha1', added)).body, 'false');
  const change = await app.inject({ method: 'POST', url: '/v1/lists/police-nl/changes', headers: hotline, payload: { add: [{ type: 'sha1', hash: added }] } });
  assert.equal(change.statusCode, 200, change.body);
  assert.equal((await eokm('sha1', added)).body, 'true');
  const badChange = await app.inject({ method: 'POST', url: '/v1/lists/police-nl/changes', headers: hotline, payload: { add: [{ type: 'sha1', hash: hex(20) }, { type: 'sha1', hash: 'zz' }], retract: [{ type: 'sha1', hash: added }] } });
  assert.equal(badChange.statusCode, 400);
  assert.equal((await eokm('sha1', added)).body, 'true', 'nothing of a refused change is applied');
  assert.equal((await app.inject({ method: 'POST', url: '/v1/lists/police-nl/changes', headers: hotline, payload: { retract: [{ type: 'sha1', hash: added }, { type: 'md5', hash: md5s[2] }] } })).statusCode, 200);
  assert.equal((await eokm('sha1', added)).body, 'false');
  assert.equal((await eokm('md5', md5s[2] as string)).body, 'false');
  assert.equal((await eokm('md5', md5s[3] as string)).body, 'true');

  // One delta that retracts and re-adds a hash replaces it (retractions apply first).
  const replaced = await app.inject({ method: 'POST', url: '/v1/lists/police-nl/changes', headers: hotline, payload: { retract: [{ type: 'md5', hash: md5s[4] }], add: [{ type: 'md5', hash: md5s[4], category: 'csam-c' }] } });
  assert.equal(replaced.statusCode, 200, replaced.body);
  const afterReplace = await app.inject({ method: 'POST', url: '/v1/check', headers: checker, payload: { items: [{ type: 'md5', hash: md5s[4] }] } });
  assert.deepEqual(afterReplace.json().results[0].matches, [{ list: 'police-nl', listName: 'Politie NL', category: 'csam-c', distance: 0 }]);

  // Disable and re-enable the list.
  assert.equal((await app.inject({ method: 'PATCH', url: '/v1/lists/police-nl', headers: hotline, payload: { status: 'disabled' } })).statusCode, 200);
  assert.equal((await eokm('md5', md5s[3] as string)).body, 'false');
  assert.equal((await app.inject({ method: 'PATCH', url: '/v1/lists/police-nl', headers: hotline, payload: { status: 'active', threshold: 10 } })).statusCode, 200);
  assert.equal((await eokm('md5', md5s[3] as string)).body, 'true');
  assert.equal((await eokm('pdq', near)).body, 'false', 'threshold lowered to 10');

  // History: the full release and three deltas, newest first.
  const history = (await app.inject({ method: 'GET', url: '/v1/lists/police-nl/releases', headers: hotline })).json().releases as { mode: string; counts: { add: Record<string, number>; retract: Record<string, number> } }[];
  assert.equal(history.length, 4);
  assert.deepEqual(history.map((r) => r.mode), ['delta', 'delta', 'delta', 'full']);
  assert.equal(history[1]?.counts.retract.sha1, 1);

  // A new full release replaces the content; the old hashes stop matching.
  const fresh = hex(16);
  const csv = await app.inject({ method: 'POST', url: '/v1/lists/police-nl/releases', headers: { ...hotline, 'content-type': 'text/csv' }, payload: `hash,type\n${fresh},md5\n` });
  assert.equal(csv.statusCode, 201, csv.body);
  assert.equal(csv.json().release.status, 'ready');
  assert.equal((await eokm('md5', fresh)).body, 'false', 'not active before activation');
  const act = await app.inject({ method: 'POST', url: `/v1/lists/police-nl/releases/${csv.json().release.id}/activate`, headers: hotline });
  assert.equal(act.statusCode, 200, act.body);
  assert.equal((await eokm('md5', fresh)).body, 'true');
  assert.equal((await eokm('md5', md5s[3] as string)).body, 'false');
  assert.equal((await app.inject({ method: 'POST', url: `/v1/lists/police-nl/releases/${csv.json().release.id}/activate`, headers: hotline })).json().error.code, 'HC_RELEASE_NOT_READY');
  const failed = await app.inject({ method: 'POST', url: '/v1/lists/police-nl/releases', headers: { ...hotline, 'content-type': 'text/csv' }, payload: 'nohash\n1\n' });
  assert.equal(failed.json().release.status, 'failed');

  // Usage counts and the audit (no hashes).
  const tenant = (await app.inject({ method: 'GET', url: '/v1/tenants/demo-hosting', headers: admin })).json();
  const today = tenant.usage[0];
  assert.ok(today.queries >= 10 && today.matches >= 5 && today.nonMatches >= 4, JSON.stringify(today));
  assert.equal(today.queries, today.matches + today.nonMatches);
  const audit = await app.inject({ method: 'GET', url: '/v1/audit/matches?tenant=demo-hosting', headers: admin });
  const recorded = audit.json().matches as { count: number; hashType: string; channel: string }[];
  assert.equal(recorded.reduce((a, m) => a + m.count, 0), today.matches, 'every match is in the audit');
  assert.ok(recorded.some((m) => m.hashType === 'pdq' && m.channel === 'bulk'));
  assert.deepEqual(Object.keys(recorded[0] as object).sort(), ['at', 'channel', 'count', 'hashType', 'listId', 'tenantId']);
  assert.ok(!audit.body.includes(md5s[0] as string));

  // The OpenAPI document describes the APIs.
  const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(doc.statusCode, 200);
  const paths = Object.keys(doc.json().paths as object);
  for (const p of ['/v1/check', '/v1/check/{type}', '/v1/lists', '/v1/lists/{listId}/releases', '/v1/lists/{listId}/changes', '/v1/tenants/{tenantId}/keys', '/v1/audit/matches']) assert.ok(paths.includes(p), `${p} in the OpenAPI document`);

  // Revocation: the key stops working.
  const keyId = issued.json().apiKey.keyId as string;
  assert.equal((await app.inject({ method: 'DELETE', url: `/v1/tenants/demo-hosting/keys/${keyId}`, headers: admin })).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/check', headers: checker, payload: { items: [{ type: 'md5', hash: fresh }] } })).statusCode, 401);
  assert.equal((await eokm('md5', fresh)).statusCode, 401);
});

test('per-tenant rate limit answers 429 with Retry-After', async (t) => {
  const env = infra(t);
  if (!env) return;
  const app = await startApp(t, env, freshEnv());
  const admin = bearer(ADMIN_KEY);
  await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: 'small-host', name: 'Small', kind: 'hosting', rateLimitPerMinute: 3 } });
  await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: 'big-host', name: 'Big', kind: 'hosting' } });
  const small = bearer((await app.inject({ method: 'POST', url: '/v1/tenants/small-host/keys', headers: admin, payload: { name: 'k', scopes: ['checker'] } })).json().key);
  const big = bearer((await app.inject({ method: 'POST', url: '/v1/tenants/big-host/keys', headers: admin, payload: { name: 'k', scopes: ['checker'] } })).json().key);
  const body = { items: [{ type: 'md5', hash: hex(16) }] };
  for (let i = 0; i < 3; i++) assert.equal((await app.inject({ method: 'POST', url: '/v1/check', headers: small, payload: body })).statusCode, 200);
  const limited = await app.inject({ method: 'POST', url: '/v1/check', headers: small, payload: body });
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().error.code, 'HC_RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) >= 1, `retry-after ${limited.headers['retry-after']}`);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/check', headers: big, payload: body })).statusCode, 200, 'other tenants are not affected');
});
