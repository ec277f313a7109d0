import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { EventCodec, registry, type EventEnvelope } from '@hashcheck/events';

const codec = new EventCodec(registry);

test('decode never throws, whatever the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      const r = codec.decode(Buffer.from(bytes));
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.ok(r.error.reasons.length > 0, 'a failure always says why');
    }),
    { numRuns: 2000 },
  );
});

test('decode never throws on arbitrary JSON, and refuses what is not an envelope', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      const r = codec.decode(JSON.stringify(value));
      if (r.ok) {
        // Only something shaped like a registered event may pass.
        assert.ok(registry.get(r.event.type, r.event.version));
      } else {
        assert.match(r.error.code, /^HC_EVENT_(DECODE|SCHEMA)$/);
      }
    }),
    { numRuns: 2000 },
  );
});

test('a valid event with a field replaced by an operator object or a wrong type is refused', () => {
  const fixtures = JSON.parse(readFileSync(new URL('../fixtures/reports.submitted.v1.json', import.meta.url), 'utf8')) as EventEnvelope[];
  const base = fixtures[0]!;
  assert.ok(codec.validate(base).ok, 'the golden fixture is valid');
  const required = ['reportId', 'source', 'url', 'hashes'];
  fc.assert(
    fc.property(fc.constantFrom(...required), fc.constantFrom<unknown>({ $gt: '' }, { $ne: null }, 42, true, [], null, ''), (field, replacement) => {
      const data = { ...(base.data as Record<string, unknown>), [field]: replacement };
      const r = codec.validate({ ...base, data });
      assert.equal(r.ok, false, `${field} = ${JSON.stringify(replacement)} must be refused`);
    }),
    { numRuns: 200 },
  );
});
