import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HashIndex } from '@hashcheck/hash-index';
import { isHashCheckError } from '@hashcheck/errors';
import { bulkCheck, type Matcher } from '../src/domain/bulk-check';
import { parseBootstrapKeys, parseListSecrets, generateApiKey, keyIdOf } from '../src/domain/api-keys';

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';

function matcher(): Matcher {
  const idx = new HashIndex();
  idx.defineList({ id: 'police', name: 'Police "NL"' });
  idx.add('md5', MD5, 'police', { category: 'csam-a' });
  return (t, h) => idx.check(t, h)?.map((m) => ({ list: m.list, listName: m.listName, category: m.category ?? 'x', distance: m.distance }));
}

test('bulk check answers every item in order; bad items get their own error', () => {
  const out = bulkCheck(
    { items: [{ type: 'md5', hash: MD5.toUpperCase() }, { type: 'md5', hash: 'f'.repeat(32) }, { type: 'md6', hash: MD5 }, { type: 'sha1', hash: MD5 }, 'x', { type: 'sha256' }] },
    10,
    matcher(),
  );
  const parsed = JSON.parse(out.body) as { results: unknown[] };
  assert.deepEqual(parsed.results, [
    { index: 0, match: true, matches: [{ list: 'police', listName: 'Police "NL"', category: 'csam-a', distance: 0 }] },
    { index: 1, match: false },
    { index: 2, error: { code: 'HC_UNKNOWN_HASH_TYPE', message: 'unknown hash type "md6": md5, sha1, sha256 or pdq' } },
    { index: 3, error: { code: 'HC_INVALID_HASH', message: 'a sha1 hash is 40 hex digits' } },
    { index: 4, error: { code: 'HC_INVALID_ITEM', message: 'an item is an object {"type":…,"hash":…}' } },
    { index: 5, error: { code: 'HC_INVALID_HASH', message: 'a sha256 hash is 64 hex digits' } },
  ]);
  assert.equal(out.invalid, 4);
  assert.deepEqual(out.byType, { md5: 2, sha1: 0, sha256: 0, pdq: 0 });
  assert.deepEqual(out.matched, [{ type: 'md5', list: 'police', count: 1 }]);
  assert.equal(out.matchedItems, 1);
});

test('bulk check refuses a malformed body or too many items as a whole', () => {
  const codeOf = (body: unknown, max = 3): string => {
    try {
      bulkCheck(body, max, matcher());
      return 'none';
    } catch (err) {
      assert.ok(isHashCheckError(err));
      assert.equal(err.statusCode, 400);
      return err.code;
    }
  };
  assert.equal(codeOf(null), 'HC_MALFORMED_BODY');
  assert.equal(codeOf([]), 'HC_MALFORMED_BODY');
  assert.equal(codeOf({ items: 'x' }), 'HC_MALFORMED_BODY');
  assert.equal(codeOf({ items: [] }), 'HC_MALFORMED_BODY');
  assert.equal(codeOf({ items: [1, 2, 3, 4] }), 'HC_TOO_MANY_ITEMS');
  assert.equal(codeOf({ items: [1], more: 1 }), 'HC_VALIDATION');
  assert.equal(codeOf({ items: [1, 2, 3] }), 'none');
});

test('keys: generated keys carry their id; configuration parsing names the bad entry', () => {
  const { keyId, key, sha256 } = generateApiKey();
  assert.equal(keyIdOf(key), keyId);
  assert.match(sha256, /^[0-9a-f]{64}$/);
  assert.equal(keyIdOf('hck_zz_x'), undefined);
  assert.deepEqual(parseBootstrapKeys(''), []);
  assert.deepEqual(parseBootstrapKeys(`ops:admin+hotline:${'A'.repeat(64)}`), [{ name: 'ops', scopes: ['admin', 'hotline'], sha256: 'a'.repeat(64) }]);
  assert.throws(() => parseBootstrapKeys(`ops:root:${'a'.repeat(64)}`), /entry 1: unknown scope root/);
  assert.throws(() => parseBootstrapKeys('ops:admin:secret'), /sha256/);
  assert.deepEqual(parseListSecrets(`k2:${'x'.repeat(32)},k1:${'y'.repeat(40)}`), { secrets: { k2: 'x'.repeat(32), k1: 'y'.repeat(40) }, currentKeyId: 'k2' });
  assert.throws(() => parseListSecrets('k1:short'), /at least 32/);
  assert.throws(() => parseListSecrets(`${'x'.repeat(40)}`), /keyId:secret/);
});
