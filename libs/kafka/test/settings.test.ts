import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaSettingsFromConfig } from '@hashcheck/kafka';

test('SASL/SCRAM and TLS come from the environment', () => {
  const s = kafkaSettingsFromConfig(
    { KAFKA_BROKERS: 'b1:9093,b2:9093', KAFKA_SSL: true, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'intake', KAFKA_SASL_PASSWORD: 'pw' },
    'hashcheck-intake',
  );
  assert.equal(s.ssl, true);
  assert.deepEqual(s.sasl, { mechanism: 'scram-sha-512', username: 'intake', password: 'pw' });
  assert.equal(s.clientId, 'hashcheck-intake');
});

test('plain by default; a mechanism without credentials is refused', () => {
  const s = kafkaSettingsFromConfig({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT_ID: 'x' }, 'd');
  assert.equal(s.ssl, false);
  assert.equal(s.sasl, undefined);
  assert.equal(s.clientId, 'x');
  assert.throws(() => kafkaSettingsFromConfig({ KAFKA_BROKERS: 'b:1', KAFKA_SASL_MECHANISM: 'scram-sha-256' }, 'd'), /KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is missing/);
});
