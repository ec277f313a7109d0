import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { infra, randomName } from '@hashcheck/testing';
import { buildApp, HashCheckConfigSchema } from '@hashcheck/hash-check';

test('hash-check boots against the real broker and database and reports ready', async (t) => {
  const env = infra(t);
  if (!env) return;
  const config = loadConfig(HashCheckConfigSchema, {
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: randomName('db').replace(/-/g, '_'),
    KAFKA_TOPIC_PREFIX: `${randomName('t')}.`,
    HASH_LIST_SECRET: `k1:${'s'.repeat(40)}`,
  });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  t.after(() => app.close());
  await app.ready();
  const live = await app.inject('/health/live');
  assert.equal(live.statusCode, 200);
  const ready = await app.inject('/health/ready');
  assert.equal(ready.statusCode, 200, ready.body);
  assert.equal(ready.json().checks.mongodb.ok, true);
  assert.equal(ready.json().checks.kafka.ok, true);
  assert.equal(ready.json().checks['hash-index'].ok, true);
});

test('hash-check refuses to start with a config that names the bad variable', () => {
  assert.throws(() => loadConfig(HashCheckConfigSchema, { MONGODB_URI: 'mongodb://127.0.0.1:1/x' }), /KAFKA_BROKERS is required/);
  assert.throws(() => loadConfig(HashCheckConfigSchema, { MONGODB_URI: 'mongodb://127.0.0.1:1/x', KAFKA_BROKERS: '127.0.0.1:1' }), /HASH_LIST_SECRET is required/);
});
