import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcceleratedClock, ManualClock } from './clock';
import { deterministicUuid } from './ids';

test('a manual clock moves only forward and only when told', () => {
  const c = new ManualClock(1000);
  assert.equal(c.now().getTime(), 1000);
  c.advance(500);
  assert.equal(c.now().getTime(), 1500);
  assert.throws(() => c.set(10), RangeError);
  assert.throws(() => c.advance(-1), RangeError);
});

test('accelerated clocks built from the same anchor agree', () => {
  const anchor = Date.now() - 1000;
  const a = new AcceleratedClock(3600, anchor, 0);
  const b = new AcceleratedClock(3600, anchor, 0);
  const x = a.now().getTime();
  const y = b.now().getTime();
  assert.ok(Math.abs(x - y) < 3600 * 50, 'within 50 ms of real time');
  assert.ok(x >= 3600 * 1000, 'one real second is an hour');
});

test('deterministic UUIDs are stable, distinct per name and well formed', () => {
  assert.equal(deterministicUuid('a'), deterministicUuid('a'));
  assert.notEqual(deterministicUuid('a'), deterministicUuid('b'));
  assert.match(deterministicUuid('a'), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
