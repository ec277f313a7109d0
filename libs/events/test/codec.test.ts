import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent, registry, Topics } from '@hashcheck/events';

function fixture() {
  const reg = new EventRegistry();
  reg.addTopic({ name: 't.v1', partitions: 1, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  const Ping = reg.add(defineEvent({ type: 'test.ping', version: 1, topic: 't.v1', description: 'ping', schema: Type.Object({ n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }) }));
  return { reg, Ping, codec: new EventCodec(reg) };
}

test('round trip through bytes', () => {
  const { Ping, codec } = fixture();
  const ev = createEvent(Ping, { subject: 'r-1', source: 'test', data: { n: 3 } });
  const decoded = codec.decode(codec.encode(ev));
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.event, ev);
  assert.match(ev.id, /^[0-9a-f-]{36}$/);
});

test('decode returns reasons instead of throwing', () => {
  const { codec } = fixture();
  const cases: Array<[unknown, RegExp, string]> = [
    [Buffer.alloc(0), /empty/, 'HC_EVENT_DECODE'],
    [Buffer.from([0xff, 0xfe, 0x00]), /UTF-8/, 'HC_EVENT_DECODE'],
    [Buffer.from('{"id":'), /not valid JSON/, 'HC_EVENT_DECODE'],
    [Buffer.from('[]'), /must be object/, 'HC_EVENT_SCHEMA'],
    [Buffer.from(JSON.stringify({ id: 'x', type: 'test.ping', version: 1, occurredAt: 'now', source: 's', subject: 'a', data: {} })), /\/id must match format "uuid"/, 'HC_EVENT_SCHEMA'],
  ];
  for (const [bytes, reason, code] of cases) {
    const r = codec.decode(bytes as Buffer);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, code);
      assert.match(r.error.reasons.join('\n'), reason);
    }
  }
});

test('data is validated against the schema of its type and version', () => {
  const { Ping, codec } = fixture();
  const bad = { ...createEvent(Ping, { subject: 's', source: 't', data: { n: 1 } }), data: { n: -1, extra: true } };
  const r = codec.decode(Buffer.from(JSON.stringify(bad)));
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.match(r.error.reasons.join('\n'), /\/data\/n must be >= 0/);
    assert.match(r.error.reasons.join('\n'), /additional properties \(extra\)/);
    assert.equal(r.error.envelope?.id, bad.id);
  }
  const unknown = { ...bad, type: 'test.pong', data: { n: 1 } };
  const u = codec.decode(JSON.stringify(unknown));
  assert.ok(!u.ok && /unknown event type test.pong v1/.test(u.error.reasons[0] ?? ''));
  assert.throws(() => codec.encode(bad), /refusing to encode invalid event/);
});

test('topic registry: unique, versioned names', () => {
  const names = registry.topics().map((t) => t.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, /^hashcheck\.[a-z.-]+\.v\d+$/);
  assert.equal(registry.topic(Topics.providers)?.cleanupPolicy, 'compact');
  assert.equal(registry.topic(Topics.hashesChanges)?.cleanupPolicy, 'compact');
});
