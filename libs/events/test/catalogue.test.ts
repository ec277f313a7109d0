import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventCodec, Events, registry, Topics, createEvent, ReportsSubmitted, RemovalsReported, HashesChanges, type EventEnvelope } from '@hashcheck/events';

const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const codec = new EventCodec(registry);

function fixtureFiles(): string[] {
  return readdirSync(fixturesDir).filter((f) => f.endsWith('.json'));
}

function load(file: string): EventEnvelope[] {
  const parsed = JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as EventEnvelope | EventEnvelope[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

test('every registered event has a golden fixture file, and every fixture file names a registered event', () => {
  const expected = registry.events().map((d) => `${d.type}.v${d.version}.json`).sort();
  assert.deepEqual(fixtureFiles().sort(), expected);
});

test('every golden fixture keeps validating against its schema', () => {
  for (const file of fixtureFiles()) {
    const events = load(file);
    assert.ok(events.length > 0, `${file} holds no event`);
    for (const [i, ev] of events.entries()) {
      assert.equal(`${ev.type}.v${ev.version}.json`, file, `${file}[${i}] is a ${ev.type} v${ev.version}`);
      const r = codec.validate(ev);
      assert.ok(r.ok, `${file}[${i}]: ${r.ok ? '' : r.error.reasons.join('; ')}`);
      // And survives the trip through bytes unchanged.
      const back = codec.decode(codec.encode(ev));
      assert.ok(back.ok);
      assert.deepEqual(back.event, ev);
    }
  }
});

test('the catalogue covers every registered event, on the topic the registry knows', () => {
  const defs = Object.values(Events);
  assert.equal(defs.length, registry.events().length);
  for (const d of defs) {
    assert.equal(registry.get(d.type, d.version), d);
    assert.ok(registry.topic(d.topic), `${d.type} names a registered topic`);
    assert.equal((d.schema as { additionalProperties?: boolean; anyOf?: unknown }).additionalProperties === false || Array.isArray((d.schema as { anyOf?: unknown }).anyOf), true, `${d.type}: closed schema`);
  }
  // Every topic carries at least one event type, except the dead-letter topic which carries raw bytes.
  const used = new Set(defs.map((d) => d.topic));
  for (const t of registry.topics()) if (t.name !== Topics.deadLetter) assert.ok(used.has(t.name), `${t.name} carries no event`);
});

test('schemas refuse what they should, with precise reasons', () => {
  const base = { reportId: 'p:1', source: 'partner-a', url: 'https://example.org/a', hashes: { md5: 'a'.repeat(32) } };
  const cases: Array<[unknown, RegExp]> = [
    [{ ...base, hashes: {} }, /\/data\/hashes must NOT have fewer than 1 properties/],
    [{ ...base, hashes: { md5: 'abc' } }, /\/data\/hashes\/md5 must match pattern/],
    [{ ...base, hashes: { sha512: 'a'.repeat(128) } }, /additional properties \(sha512\)/],
    [{ ...base, url: 'ftp://example.org/a' }, /\/data\/url must match pattern/],
    [{ ...base, observedAt: 'yesterday' }, /\/data\/observedAt must match format "date-time"/],
    [{ ...base, ip: '300.1.1.1' }, /\/data\/ip/],
    [{ ...base, extra: 1 }, /additional properties \(extra\)/],
    [{ source: 'partner-a', url: base.url, hashes: base.hashes }, /must have required property 'reportId'/],
  ];
  for (const [data, reason] of cases) {
    const ev = { ...createEvent(ReportsSubmitted, { subject: 'p:1', source: 'partner-a', data: base }), data };
    const r = codec.validate(ev);
    assert.equal(r.ok, false, JSON.stringify(data));
    if (!r.ok) assert.match(r.error.reasons.join('\n'), reason);
  }
  const removal = { ...createEvent(RemovalsReported, { subject: 'x', source: 's', data: { observedAt: '2025-01-01T00:00:00Z', status: 'removed', reporter: 'p' } }) };
  assert.equal(codec.validate(removal).ok, false, 'a removal must say what was removed');
  const change = { ...createEvent(HashesChanges, { subject: 'x', source: 's', data: { listId: 'l', kind: 'added', hashType: 'md5', hash: 'A'.repeat(32) } }) };
  assert.equal(codec.validate(change).ok, false, 'hash changes carry lower-case hex');
});
