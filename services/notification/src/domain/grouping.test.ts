import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GROUPING, groupKeyFor, initialItemKey, itemDueAt, ItemKind, noticeIdFor, planNotices, renoticeItemKey } from './grouping';

const t0 = new Date('2025-01-15T10:00:00Z');
const at = (ms: number): Date => new Date(t0.getTime() + ms);

function item(key: string, receivedMs: number, windowMs = 60_000) {
  const receivedAt = at(receivedMs);
  return { key, receivedAt, dueAt: itemDueAt(ItemKind.INITIAL, receivedAt, { ...DEFAULT_GROUPING, windowMs }) };
}

test('the default window is 60 s and re-notices do not wait', () => {
  assert.equal(DEFAULT_GROUPING.windowMs, 60_000);
  assert.equal(itemDueAt(ItemKind.INITIAL, t0, DEFAULT_GROUPING).getTime() - t0.getTime(), 60_000);
  assert.equal(itemDueAt(ItemKind.RENOTICE, t0, DEFAULT_GROUPING).getTime(), t0.getTime());
});

test('keys: one initial item per case, one re-notice item per (request, case)', () => {
  assert.equal(initialItemKey('c.1'), 'initial:c.1');
  assert.equal(renoticeItemKey('r-1', 'c.1'), 'renotice:r-1:c.1');
  assert.notEqual(renoticeItemKey('r-1', 'c.1'), renoticeItemKey('r-2', 'c.1'));
  assert.equal(groupKeyFor(ItemKind.INITIAL, 'demo-hosting'), 'provider:demo-hosting');
  assert.equal(groupKeyFor(ItemKind.INITIAL, null), 'unresolved');
  assert.equal(groupKeyFor(ItemKind.RENOTICE, 'demo-hosting', 'r-1'), 'request:r-1');
  assert.throws(() => groupKeyFor(ItemKind.RENOTICE, 'demo-hosting'));
});

test('nothing is sealed while the oldest item is inside its window', () => {
  const waiting = [item('a', 0), item('b', 30_000)];
  assert.deepEqual(planNotices('g', waiting, at(59_999), DEFAULT_GROUPING), []);
});

test('once the oldest item is due, every waiting item of the group goes in one notice', () => {
  const waiting = [item('b', 30_000), item('a', 0), item('c', 59_000)];
  const plans = planNotices('g', waiting, at(60_000), DEFAULT_GROUPING);
  assert.equal(plans.length, 1);
  assert.deepEqual(plans[0]!.items.map((i) => i.key), ['a', 'b', 'c']);
  assert.equal(plans[0]!.windowStart.getTime(), t0.getTime());
});

test('more items than a notice may carry are split, oldest first', () => {
  const waiting = Array.from({ length: 5 }, (_, i) => item(`k${i}`, i * 10));
  const plans = planNotices('g', waiting, at(70_000), { maxItemsPerNotice: 2 });
  assert.deepEqual(plans.map((p) => p.items.map((i) => i.key)), [['k0', 'k1'], ['k2', 'k3'], ['k4']]);
  assert.equal(new Set(plans.map((p) => p.noticeId)).size, 3);
});

test('the notice id is stable for the same group, window and items, whatever their order', () => {
  const a = noticeIdFor('provider:p', t0, ['x', 'y', 'z']);
  assert.equal(a, noticeIdFor('provider:p', t0, ['z', 'x', 'y']));
  assert.notEqual(a, noticeIdFor('provider:p', t0, ['x', 'y']));
  assert.notEqual(a, noticeIdFor('provider:q', t0, ['x', 'y', 'z']));
  assert.notEqual(a, noticeIdFor('provider:p', at(1), ['x', 'y', 'z']));
  const first = planNotices('provider:p', [item('x', 0), item('y', 5)], at(60_000), DEFAULT_GROUPING);
  const again = planNotices('provider:p', [item('y', 5), item('x', 0)], at(90_000), DEFAULT_GROUPING);
  assert.equal(first[0]!.noticeId, again[0]!.noticeId);
});
