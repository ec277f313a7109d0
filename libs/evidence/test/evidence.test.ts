import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  appendEntries,
  canonicalize,
  entryHash,
  GENESIS_HASH,
  nextEntry,
  redactable,
  redactEntry,
  reveal,
  toNdjson,
  verify,
  VerifyProblem,
  type EntryDraft,
  type EvidenceEntry,
  type JsonValue,
} from '@hashcheck/evidence';

const T0 = Date.UTC(2025, 0, 1);

const draftArb: fc.Arbitrary<EntryDraft> = fc.record({
  at: fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }).map((ms) => new Date(T0 + ms)),
  kind: fc.constantFrom('case.opened', 'notice.sent', 'removal.confirmed', 'dispute.opened', 'escalation.issued'),
  data: fc.jsonValue({ maxDepth: 3 }),
});
const logArb = fc.array(draftArb, { minLength: 1, maxLength: 12 }).map((drafts) => appendEntries(undefined, drafts));

const lines = (entries: readonly EvidenceEntry[]): string[] => toNdjson(entries).split('\n');

/** A JSON value guaranteed to differ from `v` after canonicalisation. */
function different(v: JsonValue): JsonValue {
  return { tampered: v };
}

test('known answer: the entry hash is SHA-256 over canonical JSON of {seq,at,kind,data,prevHash}', () => {
  const e = nextEntry(undefined, { at: '2025-01-01T00:00:00.000Z', kind: 'case.opened', data: { z: 1, a: ['x', null, true] } });
  const canonical = `{"at":"2025-01-01T00:00:00.000Z","data":{"a":["x",null,true],"z":1},"kind":"case.opened","prevHash":"${GENESIS_HASH}","seq":1}`;
  assert.equal(e.hash, createHash('sha256').update(canonical).digest('hex'));
  assert.equal(e.seq, 1);
  assert.equal(e.prevHash, GENESIS_HASH);
});

test('canonical JSON ignores key order and is stable under a JSON round trip', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
      const once = canonicalize(JSON.parse(JSON.stringify(v)));
      assert.equal(canonicalize(JSON.parse(once)), once);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        const reversed = Object.fromEntries(Object.entries(v).reverse());
        assert.equal(canonicalize(JSON.parse(JSON.stringify(reversed))), once);
      }
    }),
  );
});

test('canonical JSON refuses values that would not survive storage', () => {
  assert.throws(() => canonicalize({ a: undefined }), /a is undefined/);
  assert.throws(() => canonicalize({ a: Number.NaN }), /not a finite number/);
  assert.throws(() => canonicalize({ a: new Date() }), /not a plain object/);
});

test('every log written by appendEntries verifies, and its head is the last entry', () => {
  fc.assert(
    fc.property(logArb, (entries) => {
      const r = verify(toNdjson(entries));
      assert.equal(r.ok, true, JSON.stringify(r));
      if (r.ok) {
        assert.equal(r.entries, entries.length);
        assert.equal(r.head?.hash, entries[entries.length - 1]?.hash);
      }
      // Appending in two batches gives the same chain as appending at once.
      const half = Math.floor(entries.length / 2);
      const again = [...entries.slice(0, half), ...appendEntries(half ? entries[half - 1] : undefined, entries.slice(half))];
      assert.deepEqual(again.map((e) => e.hash), entries.map((e) => e.hash));
    }),
  );
});

test('altering any field of any entry names that entry', () => {
  fc.assert(
    fc.property(logArb, fc.nat(), fc.constantFrom('data', 'kind', 'at'), (entries, pick, field) => {
      const i = pick % entries.length;
      const target = entries[i]!;
      const altered: EvidenceEntry = { ...target };
      if (field === 'data') altered.data = different(target.data);
      if (field === 'kind') altered.kind = `${target.kind}-x`;
      if (field === 'at') altered.at = new Date(Date.parse(target.at) + 1000).toISOString();
      const copy = entries.slice();
      copy[i] = altered;
      const r = verify(toNdjson(copy));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.problem, VerifyProblem.ALTERED);
        assert.equal(r.seq, target.seq);
        assert.equal(r.verifiedEntries, i);
      }
    }),
  );
});

test('altering an entry and recomputing its hash is caught at the next link and names the altered entry', () => {
  fc.assert(
    fc.property(logArb.filter((e) => e.length >= 2), fc.nat(), (entries, pick) => {
      const i = pick % (entries.length - 1);
      const target = entries[i]!;
      const forged = { ...target, data: different(target.data) };
      forged.hash = entryHash(forged);
      const copy = entries.slice();
      copy[i] = forged;
      const r = verify(lines(copy));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.problem, VerifyProblem.ALTERED);
        assert.equal(r.seq, target.seq);
      }
    }),
  );
});

test('removing an entry names the first missing one; removing the tail is caught only with an anchor', () => {
  fc.assert(
    fc.property(logArb.filter((e) => e.length >= 2), fc.nat(), (entries, pick) => {
      const i = pick % (entries.length - 1);
      const copy = entries.filter((_, j) => j !== i);
      const r = verify(toNdjson(copy));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.problem, VerifyProblem.MISSING);
        assert.equal(r.seq, i + 1);
      }
      const head = entries[entries.length - 1]!.hash;
      const cut = entries.slice(0, -1);
      assert.equal(verify(toNdjson(cut)).ok, true, 'a shortened file is consistent in itself');
      const anchored = verify(toNdjson(cut), { expectedHead: head });
      assert.equal(anchored.ok, false);
      if (!anchored.ok) assert.equal(anchored.seq, entries.length);
      const counted = verify(toNdjson(cut), { expectedCount: entries.length });
      assert.equal(counted.ok, false);
      if (!counted.ok) assert.equal(counted.seq, entries.length);
      // An anchor taken earlier is still in a log that grew since.
      assert.equal(verify(toNdjson(entries), { expectedHead: entries[0]!.hash }).ok, true);
    }),
  );
});

test('swapping, duplicating and garbling entries are caught', () => {
  fc.assert(
    fc.property(logArb.filter((e) => e.length >= 3), fc.nat(), (entries, pick) => {
      const i = pick % (entries.length - 1);
      const swapped = entries.slice();
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      const r1 = verify(toNdjson(swapped));
      assert.equal(r1.ok, false);
      if (!r1.ok) assert.equal(r1.seq, i + 1);

      const duplicated = [...entries.slice(0, i + 1), entries[i]!, ...entries.slice(i + 1)];
      const r2 = verify(toNdjson(duplicated));
      assert.equal(r2.ok, false);
      if (!r2.ok) assert.equal(r2.problem, VerifyProblem.OUT_OF_ORDER);

      const text = lines(entries);
      text[i] = text[i]!.slice(0, -3);
      const r3 = verify(text);
      assert.equal(r3.ok, false);
      if (!r3.ok) {
        assert.equal(r3.problem, VerifyProblem.MALFORMED);
        assert.equal(r3.seq, i + 1);
        assert.equal(r3.line, i + 1);
      }
    }),
  );
});

test('a field smuggled in beside the chained ones is refused', () => {
  const entries = appendEntries(undefined, [{ at: new Date(T0), kind: 'a', data: 1 }, { at: new Date(T0), kind: 'b', data: 2 }]);
  const text = lines(entries);
  text[1] = JSON.stringify({ ...entries[1], note: 'added later' });
  const r = verify(text);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.message, /fields outside the chain: note/);
});

test('redacting personal values keeps the chain valid; altering a value that is still present is caught', () => {
  fc.assert(
    fc.property(fc.array(fc.webUrl(), { minLength: 1, maxLength: 5 }), fc.ipV4(), (urls, ip) => {
      const entries = appendEntries(undefined, urls.map((u, k) => ({ at: new Date(T0 + k), kind: 'notice.sent', data: { url: redactable(u), ip: redactable(ip), n: k } })));
      assert.equal(verify(toNdjson(entries)).ok, true);
      assert.deepEqual(reveal(entries[0]!.data), { url: urls[0], ip, n: 0 });

      const redacted = entries.map(redactEntry);
      const r = verify(toNdjson(redacted));
      assert.equal(r.ok, true, JSON.stringify(r));
      if (r.ok) assert.equal(r.redactedValues, urls.length * 2);
      assert.deepEqual(reveal(redacted[0]!.data), { url: '[anonymised]', ip: '[anonymised]', n: 0 });
      assert.ok(!toNdjson(redacted).includes(urls[0]!), 'no URL survives redaction');

      const swappedUrl = entries.slice();
      const victim = swappedUrl[entries.length - 1]!;
      const data = structuredClone(victim.data) as { url: { '@redactable': { value: string } } };
      data.url['@redactable'].value = `${data.url['@redactable'].value}/other`;
      swappedUrl[entries.length - 1] = { ...victim, data: data as unknown as JsonValue };
      const bad = verify(toNdjson(swappedUrl));
      assert.equal(bad.ok, false);
      if (!bad.ok) {
        assert.equal(bad.seq, entries.length);
        assert.match(bad.message, /does not match its digest/);
      }
    }),
    { numRuns: 50 },
  );
});

test('the same URL under two salts gives two digests, so an anonymised file does not confirm a guess', () => {
  const a = redactable('https://example.test/x');
  const b = redactable('https://example.test/x');
  assert.notEqual(a['@redactable'].digest, b['@redactable'].digest);
});

test('an empty file verifies as empty, but not against an anchor', () => {
  assert.deepEqual(verify(''), { ok: true, entries: 0, head: undefined, redactedValues: 0 });
  assert.equal(verify('', { expectedHead: 'a'.repeat(64) }).ok, false);
});
