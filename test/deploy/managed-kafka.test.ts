/**
 * Running against a managed Kafka with SASL/SCRAM over TLS, as docs/operations.md tells operators
 * to: its ConfigMap overlay, applied over deploy/k8s/common-config.yaml with the SASL user and
 * password from the hashcheck-kafka Secret, loads through every service's config schema and
 * becomes the Kafka client settings the services build their client from (TLS on, SCRAM-SHA-512
 * with that user). Misconfigurations are refused at boot, naming the variable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '@hashcheck/config';
import type { TObject, TProperties } from '@sinclair/typebox';
import { createKafka, kafkaSettingsFromConfig } from '@hashcheck/kafka';
import { IntakeConfigSchema } from '@hashcheck/intake';
import { HashCheckConfigSchema } from '@hashcheck/hash-check';
import { NotificationConfigSchema } from '@hashcheck/notification';
import { EnforcementConfigSchema } from '@hashcheck/enforcement';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEMAS: Record<string, TObject<TProperties>> = {
  intake: IntakeConfigSchema,
  'hash-check': HashCheckConfigSchema,
  notification: NotificationConfigSchema,
  enforcement: EnforcementConfigSchema,
};
/** What each service needs besides the shared settings to load at all. */
const OWN: Record<string, Record<string, string>> = {
  'hash-check': { HASH_LIST_SECRET: `k1:${'x'.repeat(40)}` },
};

/** The overlay in docs/operations.md ("A managed Kafka with SASL/SCRAM and TLS"). */
function documentedOverlay(): Record<string, string> {
  const doc = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
  const block = /```yaml\n# ConfigMap hashcheck-common \(overlay\)\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/operations.md has the managed Kafka ConfigMap overlay');
  return Object.fromEntries(Object.entries(parse(block[1] ?? '') as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

function commonConfigMap(): Record<string, string> {
  const [doc] = parseAllDocuments(readFileSync(join(root, 'deploy', 'k8s', 'common-config.yaml'), 'utf8'));
  return ((doc?.toJS() as { data: Record<string, string> }).data);
}

/** The Secret's keys as the Deployments map them (deploy/k8s: hashcheck-kafka sasl-username/sasl-password). */
const SECRET = { KAFKA_SASL_USERNAME: 'hashcheck', KAFKA_SASL_PASSWORD: 'a-scram-password' };
const MONGO = { MONGODB_URI: 'mongodb+srv://hashcheck:pw@cluster0.example.net/?retryWrites=true' };

test('the documented managed-Kafka overlay gives every service TLS and SCRAM-SHA-512 with the Secret\'s user', () => {
  const overlay = documentedOverlay();
  assert.equal(overlay.KAFKA_SSL, 'true');
  assert.equal(overlay.KAFKA_SASL_MECHANISM, 'scram-sha-512');
  const env = { ...commonConfigMap(), ...overlay, ...SECRET, ...MONGO };
  for (const [service, schema] of Object.entries(SCHEMAS)) {
    const config = loadConfig(schema, { ...env, ...OWN[service] }) as Parameters<typeof kafkaSettingsFromConfig>[0] & { KAFKA_REPLICATION_FACTOR: number; KAFKA_TOPIC_PREFIX: string };
    const settings = kafkaSettingsFromConfig(config, `hashcheck-${service}`);
    assert.equal(settings.ssl, true, `${service}: TLS`);
    assert.deepEqual(settings.sasl, { mechanism: 'scram-sha-512', username: 'hashcheck', password: 'a-scram-password' }, `${service}: SASL`);
    assert.deepEqual(String(settings.brokers).split(','), overlay.KAFKA_BROKERS?.split(','), `${service}: the managed brokers`);
    assert.equal(settings.clientId, `hashcheck-${service}`);
    assert.equal(config.KAFKA_REPLICATION_FACTOR, 3);
    assert.equal(config.KAFKA_TOPIC_PREFIX, 'prod.');
    // The client is built from them without connecting (kafkajs connects lazily).
    assert.ok(createKafka(settings).admin());
  }
});

test('plain Kafka (the default ConfigMap, no Secret): no TLS, no SASL', () => {
  const config = loadConfig(IntakeConfigSchema, { ...commonConfigMap(), ...MONGO }) as Parameters<typeof kafkaSettingsFromConfig>[0];
  const settings = kafkaSettingsFromConfig(config, 'hashcheck-intake');
  assert.equal(settings.ssl, false);
  assert.equal(settings.sasl, undefined);
});

test('a misconfigured managed Kafka is refused at boot, naming the variable', () => {
  const env = { ...commonConfigMap(), ...documentedOverlay(), ...MONGO };
  // A mechanism kafkajs does not have in the list the services support.
  assert.throws(() => loadConfig(IntakeConfigSchema, { ...env, ...SECRET, KAFKA_SASL_MECHANISM: 'gssapi' }), /KAFKA_SASL_MECHANISM/);
  assert.throws(() => loadConfig(IntakeConfigSchema, { ...env, ...SECRET, KAFKA_SSL: 'yes please' }), /KAFKA_SSL/);
  // The Secret missing (or its key misspelt): the mechanism is set, the password is not.
  const withoutPassword = loadConfig(IntakeConfigSchema, { ...env, KAFKA_SASL_USERNAME: 'hashcheck' }) as Parameters<typeof kafkaSettingsFromConfig>[0];
  assert.throws(() => kafkaSettingsFromConfig(withoutPassword, 'hashcheck-intake'), /KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is missing/);
  // Brokers as a list with spaces (a common copy-paste) are refused rather than half-used.
  assert.throws(() => loadConfig(IntakeConfigSchema, { ...env, ...SECRET, KAFKA_BROKERS: 'b-1:9096, b-2:9096' }), /KAFKA_BROKERS/);
});
