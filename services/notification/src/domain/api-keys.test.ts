import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allows, authenticate, hashApiKey, parseApiKeys } from './api-keys';

test('keys are configured as hashes and checked by hash', () => {
  const entries = parseApiKeys(`officer-1:case-officer:${hashApiKey('k-officer')}, ops:admin:${hashApiKey('k-admin')}`);
  const officer = authenticate(entries, 'k-officer');
  assert.deepEqual(officer, { name: 'officer-1', scopes: ['case-officer'] });
  assert.equal(allows(officer!, 'case-officer'), true);
  assert.equal(allows(officer!, 'admin'), false);
  const admin = authenticate(entries, 'k-admin');
  assert.equal(allows(admin!, 'case-officer'), true);
  assert.equal(authenticate(entries, 'nope'), undefined);
  assert.deepEqual(parseApiKeys(''), []);
});

test('bad entries name the variable and the entry', () => {
  assert.throws(() => parseApiKeys('x:admin'), /NOTIFICATION_API_KEYS entry 1 must be/);
  assert.throws(() => parseApiKeys(`ok:admin:${hashApiKey('a')},bb:root:${hashApiKey('b')}`), /entry 2: unknown scope root/);
  assert.throws(() => parseApiKeys('aa:admin:plaintext-key'), /sha256/);
  assert.throws(() => parseApiKeys(`aa:admin:${hashApiKey('1')},aa:admin:${hashApiKey('2')}`), /appears twice/);
});
