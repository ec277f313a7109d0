import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { Topics } from '@hashcheck/events';
import { infra, randomName, waitFor } from '@hashcheck/testing';
import { buildApp, CaseStatus, EnforcementConfigSchema, enforcementSettings, ManualClock } from '@hashcheck/enforcement';
import { bearer, dropDatabaseAfter, H, issueKey, item, newEnv, noticeSent, providerState, publish, Publish, startInstance, waitForCase } from './helpers';

test('enforcement boots against the real broker and database and reports ready', async (t) => {
  const env = infra(t);
  if (!env) return;
  const config = loadConfig(EnforcementConfigSchema, {
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: randomName('db').replace(/-/g, '_'),
    KAFKA_TOPIC_PREFIX: `${randomName('t')}.`,
  });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  t.after(() => app.close());
  await app.ready();
  const live = await app.inject('/health/live');
  assert.equal(live.statusCode, 200);
  const ready = await waitFor(async () => {
    const r = await app.inject('/health/ready');
    return r.statusCode === 200 ? r : undefined;
  }, { what: 'ready' });
  assert.equal(ready.json().checks.mongodb.ok, true);
  assert.equal(ready.json().checks.kafka.ok, true);
});

test('enforcement refuses to start with a config that names the bad variable', () => {
  assert.throws(() => loadConfig(EnforcementConfigSchema, { MONGODB_URI: 'mongodb://127.0.0.1:1/x' }), /KAFKA_BROKERS is required/);
  const base = { KAFKA_BROKERS: '127.0.0.1:9092', MONGODB_URI: 'mongodb://127.0.0.1:1/x' };
  const settings = (extra: Record<string, string>) => enforcementSettings(loadConfig(EnforcementConfigSchema, { ...base, ...extra }));
  assert.throws(() => settings({ ESCALATION_LADDER: '[{"name":"renotice","deadline":"soon"}]' }), /ESCALATION_LADDER step 0\.deadline/);
  assert.throws(() => settings({ DEADLINE_BY_CATEGORY: '{"cdn":"fast"}' }), /DEADLINE_BY_CATEGORY/);
  assert.throws(() => settings({ DEADLINE_DEFAULT: 'a day' }), /DEADLINE_DEFAULT/);
  assert.throws(() => settings({ REUPLOAD_START_STEP: 'nope' }), /REUPLOAD_START_STEP .*not a step/);
  assert.throws(() => loadConfig(EnforcementConfigSchema, { ...base, ADMIN_API_KEY: 'short' }), /ADMIN_API_KEY/);
  const ok = settings({ DEADLINE_DEFAULT: '12h', DEADLINE_BY_CATEGORY: '{"file-host":"6h"}', ESCALATION_LADDER: '[{"name":"renotice","notify":true},{"name":"fine","requiresOfficer":true}]', REUPLOAD_START_STEP: 'fine' });
  assert.equal(ok.policy.defaultMs, 12 * H);
  assert.equal(ok.policy.byCategoryMs['file-host'], 6 * H);
  assert.equal(ok.ladder.reuploadStartIndex, 1);
});

test('API keys, deadline policies by category and by regulator order, and the OpenAPI document', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock, { DEADLINE_BY_CATEGORY: '{"file-host":"6h"}' });

  await t.test('keys: only an administrator issues them, secrets are never listed, revoked keys stop working', async () => {
    const none = await app.inject({ method: 'POST', url: '/v1/admin/keys', payload: { scope: 'hotline', label: 'x' } });
    assert.equal(none.statusCode, 401);
    const hotline = await issueKey(app, env, { scope: 'hotline', label: 'analyst-3' });
    assert.match(hotline, /^hck_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const escalate = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(hotline), payload: { scope: 'admin', label: 'me' } });
    assert.equal(escalate.statusCode, 403, 'a hotline key cannot issue keys');
    const noProvider = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(env.adminKey), payload: { scope: 'provider', label: 'p' } });
    assert.equal(noProvider.statusCode, 400);
    const listed = await app.inject({ url: '/v1/admin/keys', headers: bearer(env.adminKey) });
    assert.ok(!listed.body.includes(hotline.split('_')[2]!), 'no secret in the listing');
    assert.ok(!listed.body.includes('secretHash'));
    const keyId = hotline.split('_')[1]!;
    assert.equal((await app.inject({ url: '/v1/disputes', headers: bearer(hotline) })).statusCode, 200);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/keys/${keyId}`, headers: bearer(env.adminKey) })).statusCode, 204);
    assert.equal((await app.inject({ url: '/v1/disputes', headers: bearer(hotline) })).statusCode, 401);
    const forged = `hck_${keyId}_${'A'.repeat(43)}`;
    assert.equal((await app.inject({ url: '/v1/disputes', headers: bearer(forged) })).statusCode, 401);
  });

  await t.test('a regulator order of one hour binds notices that said 24 hours; a category deadline applies to its providers', async () => {
    const officer = await issueKey(app, env, { scope: 'regulator', label: 'officer-7' });
    await publish(app, Topics.providers, [providerState('files-r-us', 'NL', 'file-host')]);
    await waitFor(() => app.providers.get('files-r-us'), { what: 'provider in the registry view' });
    const put = await app.inject({ method: 'PUT', url: '/v1/regulator/orders/ACM-2025-17', headers: bearer(officer), payload: { providerId: 'acme-hosting', deadline: '1h' } });
    assert.equal(put.statusCode, 200, put.body);
    const policy = (await app.inject({ url: '/v1/policy/acme-hosting', headers: bearer(officer) })).json() as { deadlineSeconds: number; source: string; reference: string };
    assert.deepEqual(policy, { providerId: 'acme-hosting', deadlineSeconds: 3600, source: 'order', reference: 'ACM-2025-17' });
    assert.equal(((await app.inject({ url: '/v1/policy/files-r-us', headers: bearer(officer) })).json() as { deadlineSeconds: number }).deadlineSeconds, 6 * 3600);

    const ordered = item('under-order');
    const category = item('by-category', 'files-r-us');
    const plain = item('plain', 'plain-hosting');
    const t0 = clock.now();
    await Publish.notices(app, [noticeSent('n-order', [ordered], t0), noticeSent('n-cat', [category], t0), noticeSent('n-plain', [plain], t0)]);
    const a = await waitForCase(app, ordered.caseId, (c) => c.status === CaseStatus.OPEN, 'ordered case open');
    const b = await waitForCase(app, category.caseId, (c) => c.status === CaseStatus.OPEN, 'category case open');
    const c = await waitForCase(app, plain.caseId, (x) => x.status === CaseStatus.OPEN, 'plain case open');
    assert.equal(a.deadlineAt!.getTime() - t0.getTime(), H);
    assert.equal(b.deadlineAt!.getTime() - t0.getTime(), 6 * H);
    assert.equal(c.deadlineAt!.getTime() - t0.getTime(), 24 * H);
    clock.advance(H + 1000);
    await waitForCase(app, ordered.caseId, (x) => x.stepIndex === 0, 'escalated after one hour');
    assert.equal((await app.enforcement.cases.get(category.caseId))?.stepIndex, -1);
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/regulator/orders/ACM-2025-17', headers: bearer(officer) })).statusCode, 204);
  });

  await t.test('the OpenAPI document describes every route', async () => {
    const doc = (await app.inject('/openapi.json')).json() as { paths: Record<string, Record<string, { summary?: string; responses?: Record<string, unknown> }>> };
    const expected = [
      ['/v1/notices/{noticeId}', 'get'], ['/v1/notices/{noticeId}/removal', 'post'], ['/v1/notices/{noticeId}/dispute', 'post'],
      ['/v1/disputes', 'get'], ['/v1/disputes/{disputeId}/decision', 'post'], ['/v1/cases', 'get'], ['/v1/cases/{caseId}', 'get'],
      ['/v1/cases/{caseId}/evidence', 'get'], ['/v1/cases/{caseId}/decisions', 'post'], ['/v1/regulator/orders/{reference}', 'put'],
      ['/v1/policy/{providerId}', 'get'], ['/v1/monitor/providers', 'get'], ['/v1/monitor/countries', 'get'], ['/v1/monitor/distribution', 'get'],
      ['/v1/admin/keys', 'post'], ['/v1/admin/retention/run', 'post'],
    ] as const;
    for (const [path, method] of expected) assert.ok(doc.paths[path]?.[method]?.summary, `${method.toUpperCase()} ${path} documented`);
    // Every route needs a key and validates its input: a client must find those answers documented.
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        for (const status of ['400', '401', '403']) assert.ok(op.responses?.[status], `${method.toUpperCase()} ${path} documents ${status}`);
      }
    }
  });
});
