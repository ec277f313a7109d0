import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSignature, parseSignatureHeader, signatureHeader, verifySignature } from './signature';

test('the MAC is HMAC-SHA256 over "<t>.<body>" (vector computed with openssl)', () => {
  // printf '%s' '1736935200.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_test'
  assert.equal(computeSignature('whsec_test', 1736935200, '{"a":1}'), '85fc2ca9ef58a457ef787d97369d5ee3f12c70ad3a19cc4be2322268d68e7ae6');
});

test('header round trip verifies; any change to body, secret or timestamp fails', () => {
  const now = new Date('2025-01-15T10:00:00Z');
  const body = '{"noticeId":"n-1","items":[]}';
  const header = signatureHeader('s3cret', body, now);
  assert.match(header, /^t=1736935200,v1=[0-9a-f]{64}$/);
  assert.deepEqual(verifySignature(header, body, 's3cret', { now }), { ok: true, timestamp: 1736935200 });
  assert.deepEqual(verifySignature(header, Buffer.from(body), 's3cret', { now }), { ok: true, timestamp: 1736935200 });
  assert.deepEqual(verifySignature(header, body + ' ', 's3cret', { now }), { ok: false, reason: 'mismatch' });
  assert.deepEqual(verifySignature(header, body, 'other', { now }), { ok: false, reason: 'mismatch' });
  const shifted = header.replace('t=1736935200', 't=1736935201');
  assert.deepEqual(verifySignature(shifted, body, 's3cret', { now }), { ok: false, reason: 'mismatch' });
});

test('stale and future timestamps are refused outside the tolerance', () => {
  const signedAt = new Date('2025-01-15T10:00:00Z');
  const header = signatureHeader('k', 'b', signedAt);
  assert.equal(verifySignature(header, 'b', 'k', { now: new Date(signedAt.getTime() + 300_000) }).ok, true);
  assert.deepEqual(verifySignature(header, 'b', 'k', { now: new Date(signedAt.getTime() + 301_000) }), { ok: false, reason: 'too-old' });
  assert.deepEqual(verifySignature(header, 'b', 'k', { now: new Date(signedAt.getTime() - 301_000) }), { ok: false, reason: 'in-future' });
});

test('malformed headers are refused; several v1 values and several secrets allow rotation', () => {
  assert.deepEqual(verifySignature(undefined, 'b', 'k'), { ok: false, reason: 'malformed' });
  assert.deepEqual(verifySignature('v1=abc', 'b', 'k'), { ok: false, reason: 'malformed' });
  assert.equal(parseSignatureHeader('t=1,v0=zz'), undefined);
  const now = new Date();
  const t = Math.floor(now.getTime() / 1000);
  const header = `t=${t},v1=${computeSignature('old', t, 'b')},v1=${computeSignature('new', t, 'b')}`;
  assert.equal(verifySignature(header, 'b', 'new', { now }).ok, true);
  assert.equal(verifySignature(`t=${t},v1=${computeSignature('old', t, 'b')}`, 'b', ['new', 'old'], { now }).ok, true);
});
