import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { distribution, quantile, summarizeAges, summarizeRemovals } from './stats';

test('quantiles interpolate between ranks like numpy', () => {
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile([7], 0.9), 7);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Math.abs(quantile([1, 2, 3, 4], 0.9)! - 3.7) < 1e-12);
  assert.equal(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9), 91);
});

test('quantiles stay within the data and grow with q', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1e7, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, q1, q2) => {
      const s = [...xs].sort((a, b) => a - b);
      const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
      const a = quantile(s, lo)!;
      const b = quantile(s, hi)!;
      assert.ok(a >= s[0]! && b <= s[s.length - 1]!);
      assert.ok(a <= b + 1e-9);
    }),
  );
});

test('removal summary: share within the deadline counts only removals with a running clock', () => {
  const h = 3600;
  const sum = summarizeRemovals([
    { seconds: 2 * h, withinDeadline: true },
    { seconds: 10 * h, withinDeadline: true },
    { seconds: 30 * h, withinDeadline: false },
    { seconds: 50 * h, withinDeadline: false },
    { seconds: null, withinDeadline: null },
  ]);
  assert.equal(sum.removed, 5);
  assert.equal(sum.timed, 4);
  assert.equal(sum.removedWithinDeadline, 2);
  assert.equal(sum.withinDeadlineShare, 0.5);
  assert.equal(sum.medianSeconds, 20 * h);
  assert.equal(sum.p90Seconds, 44 * h);
  assert.equal(summarizeRemovals([]).withinDeadlineShare, null);
});

test('the distribution puts an edge value in the bucket that starts there', () => {
  const h = 3600;
  const b = distribution([0, h - 1, h, 23 * h, 24 * h, 8 * 24 * h]);
  assert.deepEqual(b.map((x) => x.count), [2, 1, 0, 1, 1, 0, 1]);
  assert.deepEqual(b.map((x) => x.label), ['< 1h', '1h–6h', '6h–12h', '12h–24h', '24h–2d', '2d–7d', '≥ 7d']);
});

test('ages of outstanding items', () => {
  const now = new Date('2025-03-03T12:00:00Z');
  const a = summarizeAges([new Date('2025-03-03T11:00:00Z'), new Date('2025-03-01T12:00:00Z'), new Date('2025-03-03T10:00:00Z')], now);
  assert.deepEqual(a, { outstanding: 3, oldestSeconds: 2 * 86_400, medianAgeSeconds: 7200 });
});
