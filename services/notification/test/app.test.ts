import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { infra, randomName } from '@hashcheck/testing';
import { buildApp, NotificationConfigSchema } from '@hashcheck/notification';

test('notification boots against the real broker and database and reports ready', async (t) => {
  const env = infra(t);
  if (!env) return;
  const config = loadConfig(NotificationConfigSchema, {
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
  const ready = await app.inject('/health/ready');
  assert.equal(ready.statusCode, 200, ready.body);
  const checks = ready.json().checks;
  for (const name of ['mongodb', 'kafka', 'providers', 'consumer:notices']) assert.equal(checks[name]?.ok, true, name);
  const spec = (await app.inject('/openapi.json')).json();
  for (const path of ['/v1/notices', '/v1/notices/{noticeId}', '/v1/notices/{noticeId}/attempts/{n}/payload', '/v1/victim-series', '/v1/victim-series/{seriesId}', '/v1/victim-series/{seriesId}/digests']) {
    assert.ok(spec.paths[path], `${path} in the OpenAPI document`);
  }
});

test('a bad setting stops the service before it connects, naming the variable', async () => {
  // Addresses that could never be reached: the settings are checked before any connection.
  const base = { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x' };
  assert.throws(() => loadConfig(NotificationConfigSchema, { ...base, NOTICE_WINDOW_MS: 'soon' }), /NOTICE_WINDOW_MS/);
  await assert.rejects(buildApp(loadConfig(NotificationConfigSchema, { ...base, DEADLINE_TERMS: 'regulated=never' })), /DEADLINE_TERMS bad entry "regulated=never"/);
  await assert.rejects(buildApp(loadConfig(NotificationConfigSchema, { ...base, WEBHOOK_ALLOWED_ADDRESSES: 'localhost' })), /WEBHOOK_ALLOWED_ADDRESSES bad allow-list entry/);
  await assert.rejects(buildApp(loadConfig(NotificationConfigSchema, { ...base, NOTIFICATION_API_KEYS: 'ops:admin:plain' })), /NOTIFICATION_API_KEYS entry 1/);
  await assert.rejects(buildApp(loadConfig(NotificationConfigSchema, { ...base, NOTICE_LEASE_MS: '5000' })), /NOTICE_LEASE_MS must exceed/);
  await assert.rejects(buildApp(loadConfig(NotificationConfigSchema, { ...base, PROVIDER_SECRET_KEY: 'k1:abcd' })), /PROVIDER_SECRET_KEY/);
});
