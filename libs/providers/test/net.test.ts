import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, cidrContains, normaliseDomain, parseCidr, parseIp } from '@hashcheck/providers';

test('IP addresses parse into their canonical form', () => {
  assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
  assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8:0:1:0:0:0:0'), '2001:db8:0:1::');
  assert.equal(canonicalIp('::ffff:192.0.2.7'), '192.0.2.7', 'IPv4-mapped IPv6 is the IPv4 address');
  assert.equal(canonicalIp('[::1]'), '::1');
  assert.equal(canonicalIp('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
  assert.equal(canonicalIp('2001:db8::0:1:0:0:1'), '2001:db8::1:0:0:1', 'RFC 5952 compresses the first longest zero run');
  assert.equal(canonicalIp('256.0.0.1'), undefined);
  assert.equal(canonicalIp('example.org'), undefined);
});

test('CIDR ranges are strict about host bits and prefixes', () => {
  const ok = parseCidr('192.0.2.0/24');
  assert.ok(ok.ok);
  if (ok.ok) {
    assert.ok(cidrContains(ok.cidr, parseIp('192.0.2.255')!));
    assert.ok(!cidrContains(ok.cidr, parseIp('192.0.3.0')!));
    assert.ok(!cidrContains(ok.cidr, parseIp('2001:db8::1')!));
  }
  const v6 = parseCidr('2001:DB8::/32');
  assert.ok(v6.ok && v6.text === '2001:db8::/32');
  if (v6.ok) assert.ok(cidrContains(v6.cidr, parseIp('2001:db8:ffff::1')!));
  const host = parseCidr('192.0.2.1/24');
  assert.ok(!host.ok && /host bits set; the range is 192.0.2.0\/24/.test(host.reason));
  assert.ok(!parseCidr('192.0.2.0/33').ok);
  assert.ok(!parseCidr('192.0.2.0').ok);
  assert.ok(!parseCidr('nonsense/8').ok);
  const all = parseCidr('0.0.0.0/0');
  assert.ok(all.ok && cidrContains(all.cidr, parseIp('203.0.113.9')!));
});

test('domains normalise to lower-case punycode', () => {
  assert.deepEqual(normaliseDomain('Bücher.Example.'), { ok: true, domain: 'xn--bcher-kva.example' });
  assert.deepEqual(normaliseDomain('cdn_1.host.example'), { ok: true, domain: 'cdn_1.host.example' });
  for (const bad of ['', '*.example.com', 'a..b', '-a.example', '192.0.2.1', 'a b.example']) {
    assert.equal(normaliseDomain(bad).ok, false, bad);
  }
});
