import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandShape } from '../src/statement';

test('a MongoDB command\'s shape: names three levels deep, no values, arrays by length', () => {
  const insert = { insert: 'reports', documents: [{ _id: 'r1', url: 'https://secret.example/a.jpg' }, { _id: 'r2' }], ordered: false, lsid: { id: { _bsontype: 'Binary', buffer: Buffer.alloc(16) } } };
  assert.equal(commandShape(insert), '{"insert":"?","documents":"[2]","ordered":"?","lsid":{"id":"?"}}');
  const find = { find: 'reports', filter: { _id: { $in: ['a', 'b'] }, 'outbox.createdAt': { $lt: new Date() }, deep: { a: { b: 1 } } }, limit: 100 };
  assert.equal(commandShape(find), '{"find":"?","filter":{"_id":{"$in":"[2]"},"outbox.createdAt":{"$lt":"?"},"deep":{"a":"{…}"}},"limit":"?"}');
  assert.ok(!commandShape(insert).includes('secret'), 'no value is copied');
});
