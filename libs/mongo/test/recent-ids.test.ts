import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentIds } from '../src/recent-ids';

test('recent ids: bounded; when full the oldest tenth is forgotten, the newest kept', () => {
  const r = new RecentIds(100);
  for (let i = 0; i < 100; i++) r.add(`e${i}`);
  assert.ok(r.has('e0') && r.has('e99'), 'up to the bound nothing is forgotten');
  r.add('e100');
  for (let i = 0; i <= 10; i++) assert.equal(r.has(`e${i}`), false, `e${i}: among the oldest tenth, forgotten`);
  for (let i = 11; i <= 100; i++) assert.equal(r.has(`e${i}`), true, `e${i}: kept`);
});
