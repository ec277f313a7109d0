import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseUrl } from '../src/domain/normalise-url';
import { normaliseHashes } from '../src/domain/normalise-hashes';
import { normaliseSubmission } from '../src/domain/submission';
import { caseIdOf, caseKeyOf, caseKeyOfCaseId } from '../src/domain/case-key';
import { deterministicUuid } from '../src/domain/ids';
import { authenticateStatic, sha256Hex } from '@hashcheck/auth';
import { parseApiKeys } from '../src/domain/api-keys';
import { normaliseProviderInput } from '../src/domain/provider-input';
import { pipelineStatus } from '../src/domain/status';

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';
const SHA256 = 'd7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592';

test('URLs normalise: IDN to punycode, lower-case host, default port and fragment gone', () => {
  const cases: Array<[string, string, string]> = [
    ['https://Bücher.Example:443/Gallery/img.jpg?id=7#top', 'https://xn--bcher-kva.example/Gallery/img.jpg?id=7', 'xn--bcher-kva.example'],
    ['HTTP://EXAMPLE.org:80/a/./b/../c', 'http://example.org/a/c', 'example.org'],
    ['http://example.org:8080/x?', 'http://example.org:8080/x', 'example.org'],
    ['http://example.org./%7euser/%2fx', 'http://example.org/%7Euser/%2Fx', 'example.org'],
    ['  https://example.org  ', 'https://example.org/', 'example.org'],
    ['http://[2001:DB8::1]:80/x', 'http://[2001:db8::1]/x', '[2001:db8::1]'],
    ['http://0x7f.1/x', 'http://127.0.0.1/x', '127.0.0.1'],
    ['https://пример.рф/фото', 'https://xn--e1afmkfd.xn--p1ai/%D1%84%D0%BE%D1%82%D0%BE', 'xn--e1afmkfd.xn--p1ai'],
  ];
  for (const [input, url, host] of cases) assert.deepEqual(normaliseUrl(input), { ok: true, url, host }, input);
  const bad: Array<[string, RegExp]> = [
    ['ftp://example.org/x', /scheme must be http or https, not ftp/],
    ['not a url', /not a valid absolute URL/],
    ['http://', /not a valid absolute URL/],
    ['http://localhost/x', /not a public domain name/],
    ['', /empty/],
    [`https://example.org/${'a'.repeat(5000)}`, /longer than 4096/],
    // Hosts WHATWG URL accepts that no DNS name has: the accepted event could never be published.
    ['http://a!b.example/x', /host a!b\.example is not a valid host name/],
    ['http://a$b.example/x', /not a valid host name/],
    ['http://a*.example/x', /not a valid host name/],
    ['http://a=b.example/x', /not a valid host name/],
    ['http://a~b.example/x', /not a valid host name/],
    [`http://${'a'.repeat(64)}.example/x`, /not a valid host name/],
    ['http://a..b.example/x', /not a valid host name/],
  ];
  for (const [input, reason] of bad) {
    const r = normaliseUrl(input);
    assert.ok(!r.ok && reason.test(r.reasons.join('\n')), `${input}: ${JSON.stringify(r)}`);
  }
});

test('hashes normalise to lower-case hex of the right length', () => {
  assert.deepEqual(normaliseHashes({ md5: MD5.toUpperCase(), sha256: ` ${SHA256} ` }), { ok: true, hashes: { md5: MD5, sha256: SHA256 } });
  const r = normaliseHashes({ md5: 'abc', sha1: 'x'.repeat(40), sha512: 'a', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', pdq: '0'.repeat(64) });
  assert.ok(!r.ok);
  if (!r.ok) {
    assert.deepEqual(r.reasons, [
      'hashes.sha512 is not a supported hash type (md5, sha1, sha256, pdq)',
      'hashes.md5 must be 32 hex digits, got 3',
      'hashes.sha1 must be hexadecimal',
      'hashes.sha256 is the hash of empty content',
      'hashes.pdq is all zeros (no perceptual information)',
    ]);
  }
  assert.deepEqual(normaliseHashes({}), { ok: false, reasons: ['hashes must contain at least one of md5, sha1, sha256, pdq'] });
});

test('a submission gets its case key from content and normalised URL; every reason is collected', () => {
  const now = new Date('2025-01-15T10:00:00Z');
  const a = normaliseSubmission({ reportId: 'p:1', source: 'partner-a', url: 'https://EXAMPLE.org:443/x#frag', hashes: { md5: MD5.toUpperCase(), sha256: SHA256 }, ip: '2001:DB8:0::7', observedAt: '2025-01-15T11:00:00+02:00' }, now);
  const b = normaliseSubmission({ reportId: 'p:2', source: 'partner-b', url: 'https://example.org/x', hashes: { sha256: SHA256.toUpperCase() } }, now);
  assert.ok(a.ok && b.ok);
  if (a.ok && b.ok) {
    assert.equal(a.report.url, 'https://example.org/x');
    assert.equal(a.report.ip, '2001:db8::7');
    assert.equal(a.report.observedAt, '2025-01-15T09:00:00.000Z');
    assert.equal(a.report.caseKey, b.report.caseKey, 'same strongest hash at the same URL = same case key');
    assert.match(a.report.caseKey, /^[0-9a-f]{64}$/);
    assert.notEqual(a.report.fingerprint, b.report.fingerprint);
    assert.equal(caseKeyOf('https://example.org/y', { sha256: SHA256 }) === a.report.caseKey, false);
  }
  const bad = normaliseSubmission({ reportId: 'p:3', source: 'partner-a', url: 'ftp://example.org/x', hashes: { md5: 'd41d8cd98f00b204e9800998ecf8427e' }, observedAt: '2025-01-16T10:00:00Z' }, now);
  assert.ok(!bad.ok);
  if (!bad.ok) assert.equal(bad.reasons.length, 3, bad.reasons.join('; '));
});

test('case ids, deterministic event ids', () => {
  const key = 'a'.repeat(64);
  assert.equal(caseIdOf(key, 2), `${key}.2`);
  assert.equal(caseKeyOfCaseId(`${key}.2`), key);
  assert.equal(caseKeyOfCaseId('other'), undefined);
  const id = deterministicUuid('reports.accepted:p:1');
  assert.equal(id, deterministicUuid('reports.accepted:p:1'));
  assert.notEqual(id, deterministicUuid('reports.accepted:p:2'));
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('API keys: hashed in config, scopes, precise configuration errors', () => {
  const keys = parseApiKeys(`hotline:hotline:${sha256Hex('k-hot')},ops:admin+hotline:${sha256Hex('k-ops')}`);
  assert.deepEqual(authenticateStatic(keys, 'k-hot'), { name: 'hotline', scopes: ['hotline'] });
  assert.deepEqual(authenticateStatic(keys, 'k-ops'), { name: 'ops', scopes: ['admin', 'hotline'] });
  assert.equal(authenticateStatic(keys, 'nope'), undefined);
  assert.deepEqual(parseApiKeys(''), []);
  assert.throws(() => parseApiKeys('hotline:hotline:secret-in-clear'), /sha256/);
  assert.throws(() => parseApiKeys(`x:root:${sha256Hex('a')}`), /name x must be a lower-case slug/);
  assert.throws(() => parseApiKeys(`ab:root:${sha256Hex('a')}`), /unknown scope root/);
  assert.throws(() => parseApiKeys(`ab:admin:${sha256Hex('a')},ab:admin:${sha256Hex('b')}`), /appears twice/);
});

test('provider input: canonical domains and ranges, https webhooks, reasons', () => {
  const ok = normaliseProviderInput({ name: ' Demo ', country: 'nl', abuseContacts: ['abuse@demo.example', 'abuse@demo.example'], webhook: { url: 'https://hooks.demo.example/x#y', secret: 's'.repeat(16) }, domains: ['Demo.Example', 'demo.example.', 'bücher.example'], ipRanges: ['192.0.2.0/24', '2001:DB8::/32'], category: 'hosting-nl' });
  assert.deepEqual(ok, {
    ok: true,
    value: { name: 'Demo', country: 'NL', abuseContacts: ['abuse@demo.example'], webhook: { url: 'https://hooks.demo.example/x', secret: 's'.repeat(16) }, domains: ['demo.example', 'xn--bcher-kva.example'], ipRanges: ['192.0.2.0/24', '2001:db8::/32'], category: 'hosting-nl' },
  });
  const local = normaliseProviderInput({ name: 'L', country: 'NL', abuseContacts: [], webhook: { url: 'http://127.0.0.1:9999/hook' }, domains: [], ipRanges: [], category: 'c' });
  assert.ok(local.ok);
  const bad = normaliseProviderInput({ name: 'B', country: 'NL', abuseContacts: [], webhook: { url: 'http://hooks.example/x' }, domains: ['*.x.example'], ipRanges: ['10.0.0.1/8'], category: 'c' });
  assert.ok(!bad.ok);
  if (!bad.ok) {
    assert.match(bad.reasons.join('\n'), /wildcard/);
    assert.match(bad.reasons.join('\n'), /host bits set; the range is 10.0.0.0\/8/);
    assert.match(bad.reasons.join('\n'), /webhook.url must use https/);
  }
});

test('pipeline status is derived from everything recorded, in any arrival order', () => {
  const base = { receivedAt: new Date('2025-01-15T10:00:00Z'), caseId: 'c.1', pendingEvents: 1, notices: [], escalations: [] };
  assert.deepEqual(pipelineStatus(base), { accepted: { at: '2025-01-15T10:00:00.000Z', published: false }, check: { state: 'pending', matches: [] }, notices: [], case: { caseId: 'c.1', state: 'open', escalations: [] } });
  const closed = pipelineStatus({ ...base, pendingEvents: 0, closed: { outcome: 'removed', closedAt: '2025-01-15T12:00:00Z', withinDeadline: true }, escalations: [{ step: 'renotice', stepIndex: 0, at: 'x' }] });
  assert.equal(closed.case.state, 'closed');
  assert.equal(closed.case.withinDeadline, true);
  assert.equal(closed.accepted.published, true);
  assert.equal(pipelineStatus({ ...base, notices: [{ noticeId: 'n', channel: 'email', sentAt: 's', deadlineAt: 'd' }] }).case.state, 'notified');
  assert.equal(pipelineStatus({ ...base, check: { matched: false, matches: [], checkedAt: 't' } }).check.state, 'unmatched');
});

test('a report\'s status never shows the victim series of its matches (a check stored with one, from before intake dropped them)', () => {
  const match = { listId: 'police', listName: 'Police', category: 'A1', hashType: 'md5', distance: 0 } as const;
  const status = pipelineStatus({ receivedAt: new Date('2025-01-15T10:00:00Z'), caseId: 'c.1', pendingEvents: 0, notices: [], escalations: [], check: { matched: true, matches: [{ ...match, seriesId: 'series-17' }, match], checkedAt: 't' } });
  assert.deepEqual(status.check.matches, [match, match]);
  assert.doesNotMatch(JSON.stringify(status), /series-17/);
});
