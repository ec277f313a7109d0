/**
 * deploy/topics.yaml against the code's topic registry: the same topics, partitions, cleanup
 * policies and retention, so the deploy definitions cannot drift from what the services create.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CleanupPolicy, registry } from '@hashcheck/events';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface TopicDef {
  name: string;
  partitions: number;
  cleanupPolicy: string;
  retentionMs?: number;
  description?: string;
  config?: Record<string, unknown>;
}
interface TopicsFile {
  defaults: { replicationFactor: number; config?: Record<string, unknown> };
  topics: TopicDef[];
}

function load(): TopicsFile {
  // The parser rejects duplicate keys and malformed YAML; a duplicate topic is checked below.
  return parse(readFileSync(join(root, 'deploy', 'topics.yaml'), 'utf8'), { uniqueKeys: true, strict: true }) as TopicsFile;
}

test('topics.yaml lists exactly the registry topics', () => {
  const file = load();
  const names = file.topics.map((t) => t.name);
  assert.equal(new Set(names).size, names.length, `duplicate topic in topics.yaml: ${names.filter((n, i) => names.indexOf(n) !== i).join(', ')}`);
  const code = registry.topics().map((t) => t.name);
  assert.deepEqual(
    { missingFromYaml: code.filter((n) => !names.includes(n)), notInRegistry: names.filter((n) => !code.includes(n)) },
    { missingFromYaml: [], notInRegistry: [] },
  );
});

test('topics.yaml: partitions, cleanup policy and retention equal the registry', () => {
  const byName = new Map(load().topics.map((t) => [t.name, t]));
  for (const spec of registry.topics()) {
    const t = byName.get(spec.name);
    assert.ok(t, spec.name);
    assert.equal(t.partitions, spec.partitions, `${spec.name}: partitions`);
    assert.equal(t.cleanupPolicy, spec.cleanupPolicy, `${spec.name}: cleanupPolicy`);
    assert.equal(t.retentionMs, spec.retentionMs, `${spec.name}: retentionMs`);
  }
});

test('topics.yaml: well-formed values', () => {
  const file = load();
  assert.ok(Number.isInteger(file.defaults.replicationFactor) && file.defaults.replicationFactor >= 1);
  const minIsr = Number(file.defaults.config?.['min.insync.replicas'] ?? 1);
  assert.ok(minIsr < file.defaults.replicationFactor || file.defaults.replicationFactor === 1, 'min.insync.replicas below the replication factor, or one broker down stops every producer');
  const policies = Object.values(CleanupPolicy) as string[];
  for (const t of file.topics) {
    assert.match(t.name, /^hashcheck\.[a-z0-9.-]+\.v\d+$/, `${t.name}: name carries the major version`);
    assert.ok(Number.isInteger(t.partitions) && t.partitions >= 1, `${t.name}: partitions`);
    assert.ok(policies.includes(t.cleanupPolicy), `${t.name}: cleanupPolicy ${t.cleanupPolicy}`);
    if (t.cleanupPolicy === CleanupPolicy.DELETE) assert.ok(Number.isInteger(t.retentionMs) && (t.retentionMs ?? 0) > 0, `${t.name}: a delete topic needs a retention`);
    for (const [k, v] of Object.entries(t.config ?? {})) {
      assert.match(k, /^[a-z]+(\.[a-z]+)+$/, `${t.name}: config key ${k}`);
      assert.equal(typeof v, 'string', `${t.name}: config ${k} is a string (Kafka's configs are strings)`);
    }
  }
});
