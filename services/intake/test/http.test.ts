import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { Topics, type EventEnvelope, type ProvidersStateData, type ReportsAcceptedData, type ReportsRejectedData } from '@hashcheck/events';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp, IntakeConfigSchema } from '@hashcheck/intake';

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';
const SECRET = 'whsec-0123456789abcdef';

test('HTTP: provider registry and hotline reports, with auth, reasons and pipeline status', async (t) => {
  const env = infra(t);
  if (!env) return;
  const prefix = `${randomName('t')}.`;
  const config = loadConfig(IntakeConfigSchema, {
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: randomName('db').replace(/-/g, '_'),
    KAFKA_TOPIC_PREFIX: prefix,
    OUTBOX_POLL_MS: '50',
    INTAKE_API_KEYS: `hotline:hotline:${sha256Hex('hot-key')},ops:admin:${sha256Hex('admin-key')}`,
    PROVIDER_SECRET_KEY: `k1:${'11'.repeat(32)}`,
  });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  t.after(() => app.close());
  await app.ready();
  const recorder = await new TopicRecorder(env.brokers).start([Topics.providers, Topics.reportsAccepted, Topics.reportsRejected].map((x) => prefix + x));
  t.after(() => recorder.stop());
  const admin = { authorization: 'Bearer admin-key' };
  const hot = { authorization: 'Bearer hot-key' };

  // Auth: no key, wrong key, wrong scope.
  assert.equal((await app.inject({ method: 'GET', url: '/v1/providers' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/providers', headers: { authorization: 'Bearer nope' } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/providers', headers: hot })).statusCode, 403);

  const created = await app.inject({
    method: 'POST',
    url: '/v1/providers',
    headers: admin,
    payload: { id: 'demo-hosting', name: 'Demo Hosting', country: 'nl', abuseContacts: ['abuse@demo-hosting.example'], webhook: { url: 'https://hooks.demo-hosting.example/abuse', secret: SECRET }, domains: ['Demo-Hosting.example'], ipRanges: ['198.51.100.0/24'], category: 'hosting-nl' },
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual(created.json().webhook, { url: 'https://hooks.demo-hosting.example/abuse', hasSecret: true });
  assert.equal(created.json().country, 'NL');
  assert.ok(!created.body.includes(SECRET));
  const dup = await app.inject({ method: 'POST', url: '/v1/providers', headers: admin, payload: { id: 'other', name: 'O', country: 'DE', abuseContacts: ['a@o.example'], domains: ['demo-hosting.example'], ipRanges: [], category: 'hosting-eu' } });
  assert.equal(dup.statusCode, 409, dup.body);
  assert.match(dup.body, /domain demo-hosting.example belongs to provider demo-hosting/);
  const badRange = await app.inject({ method: 'POST', url: '/v1/providers', headers: admin, payload: { id: 'other', name: 'O', country: 'DE', abuseContacts: ['a@o.example'], domains: [], ipRanges: ['10.1.2.3/8'], category: 'hosting-eu' } });
  assert.equal(badRange.statusCode, 400);
  assert.match(badRange.body, /host bits set/);

  const patched = await app.inject({ method: 'PATCH', url: '/v1/providers/demo-hosting', headers: admin, payload: { abuseContacts: ['abuse@demo-hosting.example', 'noc@demo-hosting.example'] } });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().revision, 2, patched.body);
  assert.equal(patched.json().webhook.hasSecret, true, 'a patch without a secret keeps the stored one');

  // Published on the compacted topic: encrypted secret only, latest revision last.
  const states = await recorder.waitForCount(prefix + Topics.providers, 2);
  for (const m of states) assert.ok(!m.value!.toString().includes(SECRET), 'the clear secret never reaches the topic');
  const last = states.at(-1)!.json<EventEnvelope<ProvidersStateData>>();
  assert.equal(states.at(-1)!.key, 'demo-hosting');
  assert.equal(last.data.revision, 2);
  assert.equal(last.data.webhook?.secret?.alg, 'aes-256-gcm');

  const resolve = await app.inject({ method: 'GET', url: '/v1/providers/resolve?host=cdn.demo-hosting.example', headers: hot });
  assert.deepEqual(resolve.json(), { resolved: true, providerId: 'demo-hosting', by: 'domain', matched: 'demo-hosting.example' });

  // One report: accepted, then the same again is a duplicate, the same id with other content a conflict.
  const report = { reportId: 'HOT-1', url: 'https://img.Demo-Hosting.example:443/a.jpg#x', hashes: { md5: MD5.toUpperCase() } };
  const r1 = await app.inject({ method: 'POST', url: '/v1/reports', headers: hot, payload: report });
  assert.equal(r1.statusCode, 202, r1.body);
  assert.equal(r1.json().providerId, 'demo-hosting');
  assert.equal(r1.json().url, 'https://img.demo-hosting.example/a.jpg');
  const r2 = await app.inject({ method: 'POST', url: '/v1/reports', headers: hot, payload: report });
  assert.equal(r2.statusCode, 200, r2.body);
  assert.equal(r2.json().status, 'duplicate');
  const r3 = await app.inject({ method: 'POST', url: '/v1/reports', headers: hot, payload: { ...report, url: 'https://elsewhere.example/b.jpg' } });
  assert.equal(r3.statusCode, 409, r3.body);
  assert.match(r3.json().error.details.reasons[0], /already used for a different URL/);
  const invalid = await app.inject({ method: 'POST', url: '/v1/reports', headers: hot, payload: { reportId: 'HOT-2', url: 'https://x.example/a', hashes: { md5: 'abc' }, extra: 1 } });
  assert.equal(invalid.statusCode, 400);
  assert.deepEqual(invalid.json().error.details.reasons.sort(), ['/ must NOT have additional properties (extra)', '/hashes/md5 must match pattern "^[0-9a-fA-F]{32}$"'].sort());
  const other = await app.inject({ method: 'POST', url: '/v1/reports', headers: hot, payload: { ...report, reportId: 'HOT-3', source: 'someone-else' } });
  assert.equal(other.statusCode, 400);
  assert.match(other.body, /\/source must be hotline/);

  // A batch: accepted, unresolved provider (stored and flagged), duplicate, invalid -> 207 with a verdict each.
  const batch = await app.inject({
    method: 'POST',
    url: '/v1/reports',
    headers: hot,
    payload: { reports: [{ reportId: 'HOT-4', url: 'http://unknown-host.example/x', hashes: { sha256: 'ab'.repeat(32) } }, report, { reportId: 'HOT-5', url: 'gopher://x', hashes: { md5: MD5 } }] },
  });
  assert.equal(batch.statusCode, 207, batch.body);
  const results = batch.json().results as Array<{ status: string; providerResolved?: boolean; reasons?: string[] }>;
  assert.deepEqual(results.map((r) => r.status), ['accepted', 'duplicate', 'rejected']);
  assert.equal(results[0]!.providerResolved, false);
  assert.match(results[2]!.reasons!.join(), /\/reports\/2\/url must match pattern/);

  // Events: one accepted per new report, one rejection per refused input.
  const accepted = await recorder.waitForCount(prefix + Topics.reportsAccepted, 2);
  const byId = new Map(accepted.map((m) => [m.key, m.json<EventEnvelope<ReportsAcceptedData>>().data]));
  assert.equal(byId.get('HOT-1')?.providerResolved, true);
  assert.equal(byId.get('HOT-4')?.providerId, null);
  assert.equal(byId.get('HOT-4')?.providerResolved, false);
  const rejected = await recorder.waitForCount(prefix + Topics.reportsRejected, 4);
  const codes = rejected.map((m) => m.json<EventEnvelope<ReportsRejectedData>>().data.code).sort();
  assert.deepEqual(codes, ['HC_CONFLICT', 'HC_VALIDATION', 'HC_VALIDATION', 'HC_VALIDATION']);

  // Status.
  interface Status { status: string; pipeline: { accepted: { published: boolean }; check: { state: string }; case: { state: string } } }
  const status = await waitFor(async () => {
    const s = (await app.inject({ method: 'GET', url: '/v1/reports/HOT-1', headers: hot })).json<Status>();
    return s.pipeline?.accepted.published ? s : undefined;
  });
  assert.equal(status.status, 'accepted');
  assert.equal(status.pipeline.check.state, 'pending');
  assert.equal(status.pipeline.case.state, 'open');
  const rej = await app.inject({ method: 'GET', url: '/v1/reports/HOT-5', headers: hot });
  assert.equal(rej.json().status, 'rejected');
  assert.equal((await app.inject({ method: 'GET', url: '/v1/reports/NOPE', headers: hot })).statusCode, 404);

  // The OpenAPI document describes the routes.
  const doc = (await app.inject('/openapi.json')).json();
  for (const path of ['/v1/reports', '/v1/reports/{id}', '/v1/providers', '/v1/providers/{id}']) assert.ok(doc.paths[path], path);
});
