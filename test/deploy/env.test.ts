/**
 * The deploy files cannot drift from the code: every variable that deploy/compose.yaml or
 * deploy/k8s gives a service must exist in that service's config schema (OTEL_* excepted: the
 * OpenTelemetry SDK reads those), every required setting without a default must be given, and
 * the values must pass the schema (loadConfig) as the service would load them at boot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig, type Static } from '@hashcheck/config';
import type { TObject, TProperties } from '@sinclair/typebox';
import { IntakeConfigSchema } from '@hashcheck/intake';
import { HashCheckConfigSchema } from '@hashcheck/hash-check';
import { NotificationConfigSchema } from '@hashcheck/notification';
import { EnforcementConfigSchema } from '@hashcheck/enforcement';
import { loadK8sObjects, type K8sObject } from './k8s-objects';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const deploy = join(root, 'deploy');

const SCHEMAS: Record<string, TObject<TProperties>> = {
  intake: IntakeConfigSchema,
  'hash-check': HashCheckConfigSchema,
  notification: NotificationConfigSchema,
  enforcement: EnforcementConfigSchema,
};
/** Read by something other than the service's schema. */
const NOT_IN_SCHEMA = /^OTEL_[A-Z0-9_]+$/;

function unknownVars(service: string, names: string[]): string[] {
  const props = Object.keys(SCHEMAS[service]?.properties ?? {});
  return names.filter((n) => !props.includes(n) && !NOT_IN_SCHEMA.test(n));
}

/** Settings the service cannot start without: required and no default. */
function mandatory(service: string): string[] {
  const schema = SCHEMAS[service];
  if (!schema) return [];
  const required = (schema.required ?? []) as string[];
  return required.filter((k) => (schema.properties[k] as { default?: unknown } | undefined)?.default === undefined);
}

function check(service: string, env: Record<string, string>): Readonly<Static<TObject<TProperties>>> {
  const schema = SCHEMAS[service];
  assert.ok(schema, `no config schema known for ${service}`);
  return loadConfig(schema, env);
}

// --- compose ------------------------------------------------------------------------------

interface ComposeService {
  environment?: Record<string, string | number | boolean | null>;
  deploy?: { replicas?: number };
  build?: { args?: Record<string, string> };
}

function compose(): { services: Record<string, ComposeService> } {
  return parse(readFileSync(join(deploy, 'compose.yaml'), 'utf8'), { merge: true, uniqueKeys: true }) as { services: Record<string, ComposeService> };
}

/**
 * `${NAME:-default}` as compose would interpolate it with NAME unset; `${NAME:?message}` (compose
 * refuses to start without NAME) stands for a value the operator must give: a placeholder.
 */
function interpolate(value: string): string {
  return value
    .replace(/\$\{[A-Z0-9_]+:?\?[^}]*\}/g, 'operator-provided')
    .replace(/\$\{[A-Z0-9_]+(?::?-([^}]*))?\}/g, (_m, def: string | undefined) => def ?? '');
}

test('compose: every service variable exists in its config schema, and the values load', () => {
  const services = compose().services;
  for (const name of Object.keys(SCHEMAS)) {
    const svc = services[name];
    assert.ok(svc, `compose.yaml has no service ${name}`);
    const declared = Object.entries(svc.environment ?? {});
    assert.deepEqual(unknownVars(name, declared.map(([k]) => k)), [], `compose.yaml ${name}: variables its schema does not know`);
    // A variable without a value (secrets) is passed from the operator's environment when set.
    const env = Object.fromEntries(declared.filter(([, v]) => v !== null).map(([k, v]) => [k, interpolate(String(v))]));
    assert.deepEqual(mandatory(name).filter((k) => !(k in env)), [], `compose.yaml ${name}: required settings not given`);
    const config = check(name, env) as Record<string, unknown>;
    assert.equal(config.HOST, '0.0.0.0', `${name} listens on the container's network`);
    assert.ok((svc.deploy?.replicas ?? 1) >= 2, `${name} runs two replicas`);
    assert.equal(svc.build?.args?.SERVICE, name, `${name} is built with SERVICE=${name}`);
  }
});

test('compose interpolation: defaults, and required variables as placeholders', () => {
  assert.equal(interpolate('${LOG_LEVEL:-info}'), 'info');
  assert.equal(interpolate('${KAFKA_TOPIC_PREFIX:-}'), '');
  assert.equal(interpolate('${HASH_LIST_SECRET:?set it}'), 'operator-provided');
  assert.equal(interpolate('a-${X}-b'), 'a--b');
});

test('compose: a variable the schema does not know is caught (the check can fail)', () => {
  assert.deepEqual(unknownVars('intake', ['KAFKA_BROKERS', 'KAFKA_BROKER']), ['KAFKA_BROKER']);
  assert.throws(() => check('intake', { KAFKA_BROKERS: 'k:9092', MONGODB_URI: 'mongodb://m', PORT: 'eighty' }), /PORT/);
});

// --- kubernetes -----------------------------------------------------------------------------

interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
}

function podContainers(d: K8sObject): Container[] {
  return ((d.spec?.template as { spec?: { containers?: Container[] } } | undefined)?.spec?.containers) ?? [];
}

test('k8s: every service variable (env and envFrom ConfigMaps) exists in its config schema, and the values load', () => {
  const objects = loadK8sObjects();
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
  for (const name of Object.keys(SCHEMAS)) {
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
    assert.ok(deployment, `deploy/k8s has no Deployment ${name}`);
    const [container] = podContainers(deployment);
    assert.ok(container);
    const env: Record<string, string> = {};
    for (const ref of container.envFrom ?? []) {
      assert.equal(ref.secretRef, undefined, `${name}: secrets are referenced key by key (env[].valueFrom), so their names are checked`);
      const cm = configMaps.get(ref.configMapRef?.name ?? '');
      assert.ok(cm, `${name}: envFrom names ConfigMap ${ref.configMapRef?.name}, which deploy/k8s does not define`);
      Object.assign(env, cm);
    }
    const optional = new Set<string>();
    for (const e of container.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.optional) optional.add(e.name);
      // A Secret's value is not in the repository: stand in a well-formed one for the schema check.
      env[e.name] = e.value ?? (e.name === 'MONGODB_URI' ? 'mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017/?replicaSet=rs0' : 'from-a-secret');
    }
    assert.deepEqual(unknownVars(name, Object.keys(env)), [], `deploy/k8s ${name}: variables its schema does not know`);
    assert.deepEqual(mandatory(name).filter((k) => !(k in env) || optional.has(k)), [], `deploy/k8s ${name}: required settings not given`);
    // Optional Secrets (SASL, API keys, SMTP) may be absent: the service must start without them.
    check(name, Object.fromEntries(Object.entries(env).filter(([k]) => !optional.has(k))));
  }
});
