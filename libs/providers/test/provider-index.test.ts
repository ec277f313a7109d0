import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderIndex, decryptSecret, encryptSecret, parseSecretKeys, type Provider } from '@hashcheck/providers';

function provider(id: string, revision: number, over: Partial<Provider> = {}): Provider {
  return { id, name: id, country: 'NL', abuseContacts: [], domains: [], ipRanges: [], category: 'hosting-nl', revision, updatedAt: new Date().toISOString(), ...over };
}

test('resolves by the most specific domain suffix, then by the longest IP prefix', () => {
  const idx = new ProviderIndex();
  idx.apply(provider('big-host', 1, { domains: ['example.com'], ipRanges: ['192.0.2.0/24', '2001:db8::/32'] }));
  idx.apply(provider('cdn-host', 1, { domains: ['cdn.example.com'], ipRanges: ['192.0.2.128/25'] }));
  assert.deepEqual(idx.resolve('example.com'), { providerId: 'big-host', by: 'domain', matched: 'example.com' });
  assert.deepEqual(idx.resolve('img.example.com'), { providerId: 'big-host', by: 'domain', matched: 'example.com' });
  assert.deepEqual(idx.resolve('a.cdn.example.com'), { providerId: 'cdn-host', by: 'domain', matched: 'cdn.example.com' });
  assert.equal(idx.resolve('notexample.com'), undefined, 'a suffix matches whole labels only');
  assert.deepEqual(idx.resolve('unknown.org', '192.0.2.200'), { providerId: 'cdn-host', by: 'ip', matched: '192.0.2.128/25' });
  assert.deepEqual(idx.resolve('unknown.org', '192.0.2.5'), { providerId: 'big-host', by: 'ip', matched: '192.0.2.0/24' });
  assert.deepEqual(idx.resolve('192.0.2.7'), { providerId: 'big-host', by: 'ip', matched: '192.0.2.0/24' }, 'an IP host is its own address');
  assert.deepEqual(idx.resolve('[2001:db8::5]'), { providerId: 'big-host', by: 'ip', matched: '2001:db8::/32' });
  assert.equal(idx.resolve('unknown.org', '198.51.100.1'), undefined);
  assert.equal(idx.resolve('unknown.org'), undefined);
});

test('applies revisions in order only, and forgets deleted providers', () => {
  const idx = new ProviderIndex();
  assert.equal(idx.apply(provider('p1', 2, { domains: ['new.example'] })), true);
  assert.equal(idx.apply(provider('p1', 1, { domains: ['old.example'] })), false, 'older revision ignored');
  assert.equal(idx.apply(provider('p1', 2, { domains: ['old.example'] })), false, 'same revision ignored (replay)');
  assert.equal(idx.resolve('old.example'), undefined);
  assert.equal(idx.resolve('new.example')?.providerId, 'p1');
  idx.apply(provider('p1', 3, { domains: ['new.example'], deleted: true }));
  assert.equal(idx.resolve('new.example'), undefined);
  assert.equal(idx.get('p1'), undefined);
  assert.equal(idx.size, 0);
  assert.equal(idx.revisionOf('p1'), 3);
});

test('webhook secrets round-trip encrypted, bound to their provider', () => {
  const keys = parseSecretKeys(`k2:${'ab'.repeat(32)},k1:${Buffer.alloc(32, 7).toString('base64url')}`);
  assert.deepEqual(keys.map((k) => k.keyId), ['k2', 'k1']);
  const enc = encryptSecret('s3cret-value', keys[0]!, 'p1');
  assert.equal(enc.keyId, 'k2');
  assert.ok(!JSON.stringify(enc).includes('s3cret'));
  assert.equal(decryptSecret(enc, keys, 'p1'), 's3cret-value');
  assert.throws(() => decryptSecret(enc, keys, 'p2'), /HC_SECRET_UNREADABLE|does not decrypt/);
  assert.throws(() => decryptSecret({ ...enc, keyId: 'k9' }, keys, 'p1'), /no PROVIDER_SECRET_KEY with id k9/);
  assert.throws(() => parseSecretKeys('abcd'), /must be 32 bytes/);
  assert.equal(parseSecretKeys('cd'.repeat(32))[0]?.keyId, 'k1');
});
