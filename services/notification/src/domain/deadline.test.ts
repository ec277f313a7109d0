import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadlineFor, DEFAULT_DEADLINE_POLICY, termFor } from './deadline';
import { parseDuration, parseDurationMap } from './duration';

const delivered = new Date('2025-01-15T10:00:00Z');
const policy = { defaultTermMs: 24 * 3_600_000, termsByCategory: { 'regulated-1h': 3_600_000 } };

test('24 hours from delivery by default, the category term where one is set', () => {
  assert.equal(deadlineFor(delivered, 'hosting-nl', DEFAULT_DEADLINE_POLICY).toISOString(), '2025-01-16T10:00:00.000Z');
  assert.equal(deadlineFor(delivered, 'regulated-1h', policy).toISOString(), '2025-01-15T11:00:00.000Z');
  assert.equal(deadlineFor(delivered, undefined, policy).toISOString(), '2025-01-16T10:00:00.000Z');
  assert.equal(termFor('toString', policy), policy.defaultTermMs, 'prototype keys are not categories');
});

test('a deadline enforcement fixed for a re-notice is kept', () => {
  const fixed = new Date('2025-01-15T12:30:00Z');
  assert.equal(deadlineFor(delivered, 'hosting-nl', policy, fixed).toISOString(), fixed.toISOString());
});

test('durations and the category map parse; bad entries are refused', () => {
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('250'), 250);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('soon'), undefined);
  assert.deepEqual(parseDurationMap('hosting-nl=24h, regulated-1h=1h'), { 'hosting-nl': 86_400_000, 'regulated-1h': 3_600_000 });
  assert.deepEqual(parseDurationMap(''), {});
  assert.throws(() => parseDurationMap('x=never'), /bad entry "x=never"/);
  assert.throws(() => parseDurationMap('=1h'), /bad entry/);
});
