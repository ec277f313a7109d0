import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticateStatic, sha256Hex } from '@hashcheck/auth';
import { allows, parseApiKeys } from './api-keys';

test('keys are configured as hashes and checked by hash', () => {
  const entries = parseApiKeys(`officer-1:case-officer:${sha256Hex('k-officer')}, ops:admin:${sha256Hex('k-admin')}`);
  const officer = authenticateStatic(entries, 'k-officer');
  assert.deepEqual(officer, { name: 'officer-1', scopes: ['case-officer'] });
  assert.equal(allows(officer!, 'case-officer'), true);
  assert.equal(allows(officer!, 'admin'), false);
  const admin = authenticateStatic(entries, 'k-admin');
  assert.equal(allows(admin!, 'case-officer'), true);
  assert.equal(authenticateStatic(entries, 'nope'), undefined);
  assert.deepEqual(parseApiKeys(''), []);
});

test('bad entries name the variable and the entry', () => {
  assert.throws(() => parseApiKeys('x:admin'), /NOTIFICATION_API_KEYS entry 1 must be/);
  assert.throws(() => parseApiKeys(`ok:admin:${sha256Hex('a')},bb:root:${sha256Hex('b')}`), /entry 2: unknown scope root/);
  assert.throws(() => parseApiKeys('aa:admin:plaintext-key'), /sha256/);
  assert.throws(() => parseApiKeys(`aa:admin:${sha256Hex('1')},aa:admin:${sha256Hex('2')}`), /appears twice/);
});
