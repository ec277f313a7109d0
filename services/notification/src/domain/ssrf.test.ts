import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddress, checkResolved, checkWebhookUrl, parseAllowList } from './ssrf';

const refused = [
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'linkLocal'],
  ['0.0.0.0', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['192.0.2.10', 'reserved'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'linkLocal'],
  ['fc00::1', 'uniqueLocal'],
  ['fd12:3456::1', 'uniqueLocal'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'loopback address (IPv4-mapped)'],
  ['::ffff:7f00:1', 'loopback address (IPv4-mapped)'],
  ['::ffff:10.0.0.1', 'private address (IPv4-mapped)'],
  ['::ffff:169.254.169.254', 'linkLocal address (IPv4-mapped)'],
  // ipaddr.js reads the dotted form as mapped; either way it is the loopback address.
  ['::127.0.0.1', 'loopback'],
  ['::7f00:1', 'IPv4-compatible'],
  ['64:ff9b::a00:1', 'rfc6052'],
  ['2002:a00:1::1', '6to4'],
  ['2001:db8::1', 'reserved'],
] as const;

test('private, loopback, link-local, unique-local, multicast, unspecified and mapped addresses are refused', () => {
  for (const [address, why] of refused) {
    const v = checkAddress(address);
    assert.equal(v.allowed, false, `${address} must be refused`);
    if (!v.allowed) assert.ok(v.reason.includes(why), `${address}: reason "${v.reason}" should name ${why}`);
  }
});

test('global unicast addresses pass, including their IPv4-mapped form', () => {
  for (const address of ['93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '::ffff:93.184.215.14', '[2a00:1450:4001::200e]']) {
    assert.equal(checkAddress(address).allowed, true, address);
  }
  assert.equal(checkAddress('example.org').allowed, false, 'only IP addresses are judged');
  assert.equal(checkAddress('fe80::1%eth0').allowed, false);
});

test('the allow-list lets named ranges through, in either IPv4 or mapped form, and nothing else', () => {
  const allow = parseAllowList('127.0.0.1, 10.20.0.0/16, ::1');
  assert.equal(checkAddress('127.0.0.1', allow).allowed, true);
  assert.equal(checkAddress('::ffff:127.0.0.1', allow).allowed, true);
  assert.equal(checkAddress('127.0.0.2', allow).allowed, false);
  assert.equal(checkAddress('10.20.3.4', allow).allowed, true);
  assert.equal(checkAddress('10.21.0.1', allow).allowed, false);
  assert.equal(checkAddress('::1', allow).allowed, true);
  assert.equal(checkAddress('fe80::1', allow).allowed, false);
  assert.throws(() => parseAllowList('localhost'), /bad allow-list entry "localhost"/);
  assert.deepEqual(parseAllowList(''), []);
});

test('webhook URLs: https only (unless http is allowed), no credentials, IP literals judged at once', () => {
  assert.equal(checkWebhookUrl('https://hooks.example.org/abuse', { allowHttp: false }).ok, true);
  assert.deepEqual(checkWebhookUrl('http://hooks.example.org/abuse', { allowHttp: false }), { ok: false, reason: 'webhook URL scheme http is not allowed' });
  assert.equal(checkWebhookUrl('http://hooks.example.org/abuse', { allowHttp: true }).ok, true);
  assert.equal(checkWebhookUrl('ftp://x.example.org/', { allowHttp: true }).ok, false);
  assert.equal(checkWebhookUrl('https://u:p@hooks.example.org/', { allowHttp: false }).ok, false);
  assert.equal(checkWebhookUrl('not a url', { allowHttp: false }).ok, false);
  // WHATWG URL normalises the odd IPv4 spellings, so they cannot sneak past.
  for (const raw of ['http://127.1:8080/x', 'http://0x7f000001/x', 'http://2130706433/x', 'http://[::ffff:127.0.0.1]/x', 'http://[::1]:9/x', 'http://169.254.169.254/latest']) {
    const v = checkWebhookUrl(raw, { allowHttp: true });
    assert.equal(v.ok, false, raw);
  }
  const allowed = checkWebhookUrl('http://127.0.0.1:8080/x', { allowHttp: true, allowList: parseAllowList('127.0.0.1') });
  assert.ok(allowed.ok && allowed.literalAddress === '127.0.0.1');
});

test('a name is refused when any address it resolves to is refused', () => {
  assert.deepEqual(checkResolved('h', [{ address: '93.184.215.14', family: 4 }], []), { ok: true });
  const mixed = checkResolved('h', [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.1', family: 4 }], []);
  assert.equal(mixed.ok, false);
  assert.equal(checkResolved('h', [], []).ok, false);
});
