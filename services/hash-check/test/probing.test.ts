import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ProbingDetector, ProbingReason } from '../src/domain/probing';

/** A 256-bit hash (8 words) from a seeded generator. */
const hashArb = fc.uint32Array({ minLength: 8, maxLength: 8 });

/** `base` with `bits` distinct bit positions flipped (chosen by `seed`). */
function flip(base: Uint32Array, bits: number, seed: number): Uint32Array {
  const out = base.slice();
  const chosen = new Set<number>();
  let s = seed >>> 0 || 1;
  while (chosen.size < bits) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    chosen.add((s >>> 0) % 256);
  }
  for (const b of chosen) out[b >>> 5] = ((out[b >>> 5] as number) ^ (1 << (b & 31))) >>> 0;
  return out;
}

test('unrelated PDQ queries (honest scanning) never raise a signal, however many', () => {
  fc.assert(
    fc.property(fc.array(hashArb, { minLength: 200, maxLength: 600 }), fc.nat(1000), (hashes, step) => {
      const d = new ProbingDetector({ sweepMinQueries: 10 });
      let t = 1_000_000;
      for (const h of hashes) {
        t += step;
        assert.deepEqual(d.observePdq('host', h, 0, [], t), []);
      }
    }),
    { numRuns: 20 },
  );
});

test('plain repeats of the same hash (re-scans) are not a sweep', () => {
  fc.assert(
    fc.property(hashArb, fc.integer({ min: 50, max: 300 }), (h, n) => {
      const d = new ProbingDetector({ sweepMinQueries: 10 });
      for (let i = 0; i < n; i++) assert.deepEqual(d.observePdq('host', h, 0, [], 1000 + i), []);
    }),
    { numRuns: 20 },
  );
});

test('a sweep around one point raises exactly one pdq-sweep signal per cooldown, naming tenant and count', () => {
  fc.assert(
    fc.property(hashArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 5, max: 60 }), fc.nat(), (base, maxBits, min, seed) => {
      // Sweep queries are at most 2 × 20 = 40 bits apart: always near-duplicates at the default 48.
      const d = new ProbingDetector({ sweepMinQueries: min, windowMs: 60_000, cooldownMs: 60_000 });
      const signals = [];
      // Unrelated traffic of the same tenant mixed in does not hide the sweep.
      for (let i = 0; i < 3 * min; i++) {
        const q = i % 3 === 2 ? flip(base, 128, seed + i) : flip(base, 1 + ((seed + i) % maxBits), seed + i);
        signals.push(...d.observePdq('prober', q, 0, [], 10_000 + i * 10));
      }
      assert.equal(signals.length, 1, 'one signal, then the cooldown');
      const s = signals[0];
      assert.equal(s?.tenantId, 'prober');
      assert.equal(s?.reason, ProbingReason.PDQ_SWEEP);
      assert.ok((s?.count ?? 0) >= min);
      assert.ok((s?.minDistance ?? 99) >= 1 && (s?.minDistance ?? 99) <= 2 * maxBits);
    }),
    { numRuns: 40 },
  );
});

test('the window slides: the same near-duplicates spread thinly over time do not add up', () => {
  const d = new ProbingDetector({ sweepMinQueries: 20, windowMs: 60_000 });
  const base = new Uint32Array(8).fill(0x12345678);
  for (let i = 0; i < 200; i++) assert.deepEqual(d.observePdq('slow', flip(base, 3, i + 1), 0, [], i * 10_000), [], `query ${i}`);
  // Fast, the same sweep fires.
  const fast = new ProbingDetector({ sweepMinQueries: 20, windowMs: 60_000 });
  const fired = [];
  for (let i = 0; i < 200; i++) fired.push(...fast.observePdq('fast', flip(base, 3, i + 1), 0, [], i * 100));
  assert.ok(fired.length >= 1);
});

test('tenants are counted apart: a sweep split over two tenants below the threshold each does not fire', () => {
  const d = new ProbingDetector({ sweepMinQueries: 30 });
  const base = new Uint32Array(8).fill(0xdeadbeef);
  for (let i = 0; i < 50; i++) assert.deepEqual(d.observePdq(i % 2 ? 'a' : 'b', flip(base, 4, i + 1), 0, [], 1000 + i), []);
});

test('many matches just inside the threshold raise pdq-boundary; matches well inside do not', () => {
  const inside = new ProbingDetector({ boundaryMinMatches: 10, boundaryBand: 4 });
  const far = new Uint32Array(8);
  for (let i = 0; i < 100; i++) {
    far.fill(0);
    far[0] = i * 7919;
    far[3] = i * 104729;
    far[6] = ~i >>> 0;
    assert.deepEqual(inside.observePdq('ok', flip(far, 100, i + 7), 0, [{ distance: 5, threshold: 31 }], 1000 + i * 1000), []);
  }
  const edge = new ProbingDetector({ boundaryMinMatches: 10, boundaryBand: 4 });
  const fired = [];
  for (let i = 0; i < 30; i++) fired.push(...edge.observePdq('edge', flip(new Uint32Array(8), 120, i + 3), 0, [{ distance: 29 + (i % 3), threshold: 31 }], 1000 + i * 1000));
  assert.equal(fired.length, 1);
  assert.equal(fired[0]?.reason, ProbingReason.PDQ_BOUNDARY);
  assert.equal(fired[0]?.minDistance, 29);
});

test('memory is bounded: at most maxTenants tenants are tracked', () => {
  const d = new ProbingDetector({ maxTenants: 50 });
  const h = new Uint32Array(8);
  for (let i = 0; i < 500; i++) d.observePdq(`t${i}`, h, 0, [], i);
  assert.equal(d.trackedTenants, 50);
  assert.throws(() => new ProbingDetector({ windowMs: 0 }), RangeError);
});
