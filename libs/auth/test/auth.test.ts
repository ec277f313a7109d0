import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { authenticateStatic, bearerToken, digestsEqual, issueApiKey, parseApiKey, parseBasicCredentials, parseStaticKeys, sha256Hex } from '../src/index';

const SCOPES = ['hotline', 'admin'] as const;
const parse = (text: string) => parseStaticKeys(text, { variable: 'TEST_KEYS', scopes: SCOPES });

test('static keys: configured as hashes, found by the key, never by the hash', () => {
  const entries = parse(`team-a:hotline:${sha256Hex('key-a')}, ops:admin+hotline:${sha256Hex('key-ops').toUpperCase()}`);
  assert.deepEqual(authenticateStatic(entries, 'key-a'), { name: 'team-a', scopes: ['hotline'] }, 'the holder, without the configured hash');
  assert.deepEqual(authenticateStatic(entries, 'key-ops')?.scopes, ['admin', 'hotline']);
  assert.equal(authenticateStatic(entries, 'key-b'), undefined);
  assert.equal(authenticateStatic(entries, sha256Hex('key-a')), undefined, 'the configured hash is not itself a key');
  assert.deepEqual(parse(''), []);
  assert.deepEqual(parseStaticKeys(undefined, { variable: 'X', scopes: SCOPES }), []);
});

test('static keys: each bad entry names the variable and the entry, and never echoes a clear key', () => {
  assert.throws(() => parse('x:admin'), /TEST_KEYS entry 1 must be name:scope/);
  assert.throws(() => parse(`ok:admin:${sha256Hex('a')},bb:root:${sha256Hex('b')}`), /TEST_KEYS entry 2: unknown scope root \(hotline, admin\)/);
  assert.throws(() => parse(`Bad_Name:admin:${sha256Hex('a')}`), /lower-case slug/);
  assert.throws(() => parse(`aa:admin:${sha256Hex('1')},aa:admin:${sha256Hex('2')}`), /appears twice/);
  try {
    parse('aa:admin:my-secret-key-in-clear');
    assert.fail('accepted a clear key');
  } catch (err) {
    assert.ok(err instanceof HashCheckError);
    assert.equal(err.code, ErrorCode.CONFIG_INVALID);
    assert.match(err.message, /sha256/);
    assert.doesNotMatch(err.message, /my-secret-key-in-clear/);
  }
});

test('issued keys: recognisable format, id and secret recovered, unique', () => {
  const a = issueApiKey();
  const b = issueApiKey();
  assert.match(a.key, /^hck_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(parseApiKey(a.key), { keyId: a.keyId, secret: a.secret });
  assert.notEqual(a.key, b.key);
  assert.equal(parseApiKey(`${a.key}x`), undefined);
  assert.equal(parseApiKey('hck_XYZ_abc'), undefined);
  assert.equal(parseApiKey(''), undefined);
});

test('digests compare equal only when equal, whatever their lengths', () => {
  const d = sha256Hex('k');
  assert.equal(digestsEqual(d, d.toUpperCase()), true);
  assert.equal(digestsEqual(d, sha256Hex('j')), false);
  assert.equal(digestsEqual(d, d.slice(0, 62)), false);
  assert.equal(digestsEqual('', ''), false);
});

test('Authorization headers: Bearer key or a precise 401; Basic user and password', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer   abc'), 'abc');
  for (const bad of [undefined, '', 'Bearer', 'Bearer a b', 'Basic abc', 'abc']) {
    assert.throws(() => bearerToken(bad), (err: unknown) => err instanceof HashCheckError && err.code === ErrorCode.UNAUTHORIZED && /Bearer <key>/.test(err.message), String(bad));
  }
  const basic = `Basic ${Buffer.from('tenant-1:pa:ss').toString('base64')}`;
  assert.deepEqual(parseBasicCredentials(basic), { user: 'tenant-1', password: 'pa:ss' });
  assert.equal(parseBasicCredentials(`Basic ${Buffer.from('no-colon').toString('base64')}`), undefined);
  assert.equal(parseBasicCredentials('Bearer x'), undefined);
  assert.equal(parseBasicCredentials(undefined), undefined);
});
