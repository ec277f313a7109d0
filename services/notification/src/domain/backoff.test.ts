import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs, hasAttemptsLeft } from './backoff';

const policy = { baseMs: 100, capMs: 1_000, maxAttempts: 4 };

test('the ceiling doubles per failure and stops at the cap', () => {
  const top = (n: number) => backoffDelayMs(n, policy, () => 0.999_999_999_9);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 50, 5000].map(top), [99, 199, 399, 799, 999, 999, 999, 999]);
});

test('full jitter: the delay is drawn from [0, ceiling)', () => {
  assert.equal(backoffDelayMs(3, policy, () => 0), 0);
  assert.equal(backoffDelayMs(3, policy, () => 0.5), 200);
  assert.equal(backoffDelayMs(3, policy, () => 1), 399, 'a random() of 1 stays below the ceiling');
  assert.equal(backoffDelayMs(3, policy, () => -1), 0);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const d = backoffDelayMs(4, policy);
    assert.ok(d >= 0 && d < 800, `delay ${d} out of range`);
    seen.add(Math.floor(d / 100));
  }
  assert.ok(seen.size >= 5, 'delays spread over the range');
});

test('attempt limit', () => {
  assert.equal(hasAttemptsLeft(3, policy), true);
  assert.equal(hasAttemptsLeft(4, policy), false);
});
