import { test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseUri } from '@hashcheck/runtime';

test('databaseUri: single host, with and without a path or options', () => {
  assert.equal(databaseUri('mongodb://127.0.0.1:27017', 'hashcheck_intake'), 'mongodb://127.0.0.1:27017/hashcheck_intake');
  assert.equal(databaseUri('mongodb://127.0.0.1:27017/', 'x'), 'mongodb://127.0.0.1:27017/x');
  assert.equal(databaseUri('mongodb://127.0.0.1:27017/other?authSource=admin', 'x'), 'mongodb://127.0.0.1:27017/x?authSource=admin');
});

test('databaseUri: a replica set connection string with several hosts and credentials', () => {
  assert.equal(
    databaseUri('mongodb://svc:p%40ss@mongo-0.mongo:27017,mongo-1.mongo:27017,mongo-2.mongo:27017/?replicaSet=rs0&tls=true', 'hashcheck_hash_check'),
    'mongodb://svc:p%40ss@mongo-0.mongo:27017,mongo-1.mongo:27017,mongo-2.mongo:27017/hashcheck_hash_check?replicaSet=rs0&tls=true',
  );
  assert.equal(databaseUri('mongodb+srv://u:p@cluster0.example.net/?retryWrites=true', 'db'), 'mongodb+srv://u:p@cluster0.example.net/db?retryWrites=true');
});

test('databaseUri: anything else is refused', () => {
  assert.throws(() => databaseUri('postgres://x', 'db'), TypeError);
});
