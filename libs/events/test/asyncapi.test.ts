import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { messageKey, registry } from '@hashcheck/events';
import { ASYNCAPI_PATH, renderAsyncApi } from './asyncapi-doc';

interface Doc {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  components: { messages: Record<string, { payload: { properties: { type: { const: string }; version: { const: number }; data: unknown } } }> };
}

const doc = parse(readFileSync(ASYNCAPI_PATH, 'utf8')) as Doc;

test('docs/asyncapi.yaml: every topic in code is a channel, and every channel a topic in code', () => {
  const inDoc = Object.values(doc.channels).map((c) => c.address).sort();
  const inCode = registry.topics().map((t) => t.name).sort();
  assert.deepEqual(inDoc, inCode);
});

test('docs/asyncapi.yaml: every event in code is a message on its topic, and every message an event in code', () => {
  const inCode = registry.events().map(messageKey).sort();
  const inDoc = Object.keys(doc.components.messages).filter((k) => k !== 'deadLetter').sort();
  assert.deepEqual(inDoc, inCode);
  for (const def of registry.events()) {
    const channel = Object.values(doc.channels).find((c) => c.address === def.topic);
    assert.ok(channel?.messages[messageKey(def)], `${messageKey(def)} is listed on ${def.topic}`);
    const payload = doc.components.messages[messageKey(def)]!.payload;
    assert.equal(payload.properties.type.const, def.type);
    assert.equal(payload.properties.version.const, def.version);
    assert.deepEqual(payload.properties.data, JSON.parse(JSON.stringify(def.schema)), `${messageKey(def)}: the documented data schema is the one in code`);
  }
});

test('docs/asyncapi.yaml is exactly what the generator renders (regenerate: npx tsx libs/events/test/asyncapi-doc.ts --write)', () => {
  assert.equal(doc.asyncapi, '3.0.0');
  assert.equal(readFileSync(ASYNCAPI_PATH, 'utf8'), renderAsyncApi());
});

test('docs/events.md names every topic and every event type', () => {
  const md = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'events.md'), 'utf8');
  for (const t of registry.topics()) assert.ok(md.includes(t.name), `events.md mentions ${t.name}`);
  for (const e of registry.events()) assert.ok(md.includes(`\`${e.type}\``), `events.md mentions \`${e.type}\``);
});
