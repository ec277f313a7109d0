import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex, uuidv5 } from './ids';

test('uuidv5 matches the RFC 9562 example (DNS namespace, www.example.com)', () => {
  assert.equal(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
});

test('uuidv5 is stable per name and differs between names', () => {
  assert.equal(uuidv5('a'), uuidv5('a'));
  assert.notEqual(uuidv5('a'), uuidv5('b'));
  assert.match(uuidv5('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('sha256Hex of the empty string', () => {
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});
