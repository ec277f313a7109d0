import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applicableDeadline, DeadlineSource, effectiveDeadline, type DeadlineOrder } from './policy';

const H = 3_600_000;
const config = { defaultMs: 24 * H, byCategoryMs: { cdn: 12 * H, 'file-host': 6 * H } };
const at = new Date('2025-03-03T09:00:00Z');

test('default, then category, then a regulator order in force', () => {
  assert.deepEqual(applicableDeadline(config, { at }), { ms: 24 * H, source: DeadlineSource.DEFAULT });
  assert.deepEqual(applicableDeadline(config, { at, category: 'cdn' }), { ms: 12 * H, source: DeadlineSource.CATEGORY, reference: 'cdn' });
  assert.deepEqual(applicableDeadline(config, { at, category: 'unknown' }).source, DeadlineSource.DEFAULT);
  const order: DeadlineOrder = { providerId: 'p', deadlineMs: H, reference: 'ACM/1', validFrom: new Date('2025-03-01T00:00:00Z'), validUntil: null };
  assert.deepEqual(applicableDeadline(config, { at, category: 'cdn', orders: [order] }), { ms: H, source: DeadlineSource.ORDER, reference: 'ACM/1' });
});

test('an order applies only within its validity, and the strictest of several binds', () => {
  const future: DeadlineOrder = { providerId: 'p', deadlineMs: H, reference: 'later', validFrom: new Date('2025-04-01T00:00:00Z'), validUntil: null };
  const expired: DeadlineOrder = { providerId: 'p', deadlineMs: H, reference: 'old', validFrom: new Date('2024-01-01T00:00:00Z'), validUntil: at };
  assert.equal(applicableDeadline(config, { at, orders: [future, expired] }).source, DeadlineSource.DEFAULT);
  const a: DeadlineOrder = { providerId: 'p', deadlineMs: 4 * H, reference: 'a', validFrom: new Date(0), validUntil: null };
  const b: DeadlineOrder = { ...a, deadlineMs: 2 * H, reference: 'b' };
  assert.equal(applicableDeadline(config, { at, orders: [a, b] }).reference, 'b');
});

test('the clock runs to the notice deadline unless the policy is stricter', () => {
  const sentAt = at;
  const notice = new Date(at.getTime() + 24 * H);
  assert.deepEqual(effectiveDeadline(notice, sentAt, { ms: 24 * H, source: DeadlineSource.DEFAULT }), { deadlineAt: notice, decidedBy: 'notice' });
  assert.deepEqual(effectiveDeadline(notice, sentAt, { ms: 48 * H, source: DeadlineSource.DEFAULT }), { deadlineAt: notice, decidedBy: 'notice' });
  assert.deepEqual(effectiveDeadline(notice, sentAt, { ms: H, source: DeadlineSource.ORDER }), { deadlineAt: new Date(at.getTime() + H), decidedBy: DeadlineSource.ORDER });
});
