import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, Type, KafkaSettings, MongoSettings, HttpSettings } from '@hashcheck/config';

const schema = Type.Object({ ...KafkaSettings, ...MongoSettings, ...HttpSettings, WINDOW_MS: Type.Integer({ minimum: 1, default: 60000 }) });
const good = { KAFKA_BROKERS: '127.0.0.1:9092', MONGODB_URI: 'mongodb://127.0.0.1:27017/x' };

test('valid environment becomes a frozen typed object with defaults and coercion', () => {
  const cfg = loadConfig(schema, { ...good, PORT: '8080', KAFKA_SSL: 'true', UNRELATED: 'x' });
  assert.equal(cfg.PORT, 8080);
  assert.equal(cfg.KAFKA_SSL, true);
  assert.equal(cfg.WINDOW_MS, 60000);
  assert.equal(cfg.LOG_LEVEL, 'info');
  assert.ok(Object.isFrozen(cfg));
  assert.equal((cfg as Record<string, unknown>).UNRELATED, undefined);
});

test('a missing variable is named', () => {
  assert.throws(() => loadConfig(schema, { MONGODB_URI: good.MONGODB_URI }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'HC_CONFIG_INVALID');
    assert.match(err.message, /KAFKA_BROKERS is required/);
    return true;
  });
});

test('a malformed variable is named', () => {
  assert.throws(() => loadConfig(schema, { ...good, PORT: 'eighty' }), /PORT/);
  assert.throws(() => loadConfig(schema, { ...good, MONGODB_URI: 'postgres://x' }), /MONGODB_URI/);
  assert.throws(() => loadConfig(schema, { ...good, KAFKA_BROKERS: 'a:1, b:2' }), /KAFKA_BROKERS/);
  assert.throws(() => loadConfig(schema, { ...good, LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
});
