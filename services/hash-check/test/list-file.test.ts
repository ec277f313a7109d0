import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListFileParser, type LineResult } from '../src/domain/list-file';

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';
const SHA1 = '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12';

function run(p: ListFileParser, lines: string[]): LineResult[] {
  return lines.map((l, i) => p.parse(l, i + 1));
}

test('ndjson: entries, defaults, and a precise reason per malformed line', () => {
  const p = new ListFileParser({ format: 'ndjson', mode: 'delta' });
  const r = run(p, [
    `{"type":"md5","hash":"${MD5.toUpperCase()}","category":"csam-a","series":"s-1"}`,
    '',
    `{"type":"sha1","hash":"${SHA1}","op":"retract"}`,
    'not json',
    '[1,2]',
    `{"type":"md6","hash":"${MD5}"}`,
    `{"type":"md5","hash":"${MD5.slice(1)}"}`,
    `{"type":"md5","hash":"${MD5.slice(1)}z"}`,
    `{"type":"md5","hash":"${MD5}","op":"delete"}`,
    `{"type":"md5","hash":"${MD5}","category":"Not A Slug"}`,
    `{"type":"md5","hash":"${MD5}","extra":1}`,
  ]);
  assert.deepEqual(r[0], { kind: 'entry', entry: { op: 'add', type: 'md5', hash: MD5, category: 'csam-a', series: 's-1' } });
  assert.deepEqual(r[1], { kind: 'skip' });
  assert.deepEqual(r[2], { kind: 'entry', entry: { op: 'retract', type: 'sha1', hash: SHA1, category: undefined, series: undefined } });
  const reasons = r.slice(3).map((x) => (x.kind === 'error' ? x.reason : x.kind));
  assert.deepEqual(reasons, [
    'not valid JSON',
    'not a JSON object',
    'unknown hash type "md6" (md5, sha1, sha256, pdq)',
    'a md5 hash is 32 hex digits, got 31 characters',
    'a md5 hash is 32 hex digits, got a character that is not hex',
    'op must be add or retract, got "delete"',
    'category must be a lower-case slug (a-z, 0-9, -), at most 64 characters',
    'unknown field "extra" (allowed: type, hash, category, series, op)',
  ]);
});

test('a full release refuses retractions', () => {
  const p = new ListFileParser({ format: 'ndjson', mode: 'full' });
  const r = p.parse(`{"type":"md5","hash":"${MD5}","op":"retract"}`, 1);
  assert.equal(r.kind, 'error');
});

test('csv: header in any order, type column or a type for the whole file, comments, quotes, CRLF and BOM', () => {
  const p = new ListFileParser({ format: 'csv', mode: 'full' });
  const r = run(p, ['\uFEFFhash,category,type', '# comment', `"${MD5}",csam-b,md5`, `${SHA1},,sha1`, `${SHA1},x`]);
  assert.deepEqual(r[0], { kind: 'skip' });
  assert.deepEqual(r[1], { kind: 'skip' });
  assert.deepEqual(r[2], { kind: 'entry', entry: { op: 'add', type: 'md5', hash: MD5, category: 'csam-b', series: undefined } });
  assert.deepEqual(r[3], { kind: 'entry', entry: { op: 'add', type: 'sha1', hash: SHA1, category: undefined, series: undefined } });
  assert.deepEqual(r[4], { kind: 'error', reason: '2 columns, the header has 3' });
  const noType = new ListFileParser({ format: 'csv', mode: 'full' });
  assert.match((noType.parse('hash', 1) as { reason: string }).reason, /no type column/);
  const typed = new ListFileParser({ format: 'csv', mode: 'full', type: 'md5' });
  assert.deepEqual(run(typed, ['hash', MD5])[1], { kind: 'entry', entry: { op: 'add', type: 'md5', hash: MD5, category: undefined, series: undefined } });
  const bad = new ListFileParser({ format: 'csv', mode: 'full' });
  assert.match((bad.parse('hash,colour', 1) as { reason: string }).reason, /unknown: colour/);
  assert.equal(new ListFileParser({ format: 'csv', mode: 'full' }).missingHeader, true);
});

test('text: one hash per line of the given type', () => {
  assert.throws(() => new ListFileParser({ format: 'text', mode: 'full' }), RangeError);
  const p = new ListFileParser({ format: 'text', mode: 'full', type: 'sha1' });
  const r = run(p, [SHA1, '#x', 'zz']);
  assert.equal(r[0]?.kind, 'entry');
  assert.equal(r[1]?.kind, 'skip');
  assert.equal(r[2]?.kind, 'error');
});
