// Pure pieces of the scanner: retry timing, walk rules, CSV, progress, state file, exit codes.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_RETRY,
  ScanState,
  checkItemsFor,
  computeRates,
  csvField,
  exitCodeFor,
  formatDuration,
  newProgressStats,
  parseRetryAfter,
  progressLine,
  requestWithRetry,
  retryDelayMs,
  walk,
  type FileHashes,
  type WalkEntry,
} from '@hashcheck/scanner';

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hc-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('Retry-After: seconds and HTTP dates', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(' 0.5 '), 500);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter('soon'), null);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
});

test('backoff grows exponentially with jitter, is capped, and Retry-After wins', () => {
  const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(retryDelayMs(0, null, p, () => 0), 50);
  assert.equal(retryDelayMs(0, null, p, () => 1), 100);
  assert.equal(retryDelayMs(3, null, p, () => 1), 800);
  assert.equal(retryDelayMs(10, null, p, () => 1), 1000);
  assert.equal(retryDelayMs(0, 7000, p), 7000);
  assert.equal(retryDelayMs(0, 10_000_000, p), p.maxRetryAfterMs);
});

test('requestWithRetry retries network errors and gives up with a coded error', async () => {
  let calls = 0;
  const failing = (() => {
    calls++;
    return Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
  }) as typeof fetch;
  await assert.rejects(
    requestWithRetry('http://127.0.0.1:1/v1/check', { method: 'POST', headers: {}, body: '' }, { fetch: failing, retry: { ...DEFAULT_RETRY, retries: 2, baseDelayMs: 1 } }),
    (err: Error & { code?: string; retriable?: boolean }) => {
      assert.equal(err.code, 'SCAN_API_UNAVAILABLE');
      assert.equal(err.retriable, true);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    },
  );
  assert.equal(calls, 3);
  const notFound = (() => Promise.resolve(new Response('nope', { status: 404 }))) as typeof fetch;
  await assert.rejects(requestWithRetry('http://x/', { method: 'POST', headers: {}, body: '' }, { fetch: notFound }), /rejected the request \(404\)/);
});

test('CSV fields are quoted when needed', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(' lead'), '" lead"');
  assert.equal(csvField(undefined), '');
  assert.equal(csvField(0), '0');
});

test('walk: sorted, regular files only, symlinks and specials skipped, excludes honoured', async (t) => {
  const dir = tmp(t);
  mkdirSync(join(dir, 'b', 'deep'), { recursive: true });
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'skip-me'));
  writeFileSync(join(dir, 'a', '2.txt'), 'x');
  writeFileSync(join(dir, 'a', '1.txt'), 'xy');
  writeFileSync(join(dir, 'b', 'deep', 'z'), 'xyz');
  writeFileSync(join(dir, 'skip-me', 'q'), 'q');
  symlinkSync(join(dir, 'a'), join(dir, 'b', 'link-dir'));
  const entries: WalkEntry[] = [];
  for await (const e of walk([dir], { exclude: [join(dir, 'skip-me')] })) entries.push(e);
  const files = entries.filter((e) => e.kind === 'file');
  assert.deepEqual(files.map((e) => e.path.slice(dir.length + 1)), ['a/1.txt', 'a/2.txt', 'b/deep/z']);
  assert.deepEqual(files.map((e) => (e.kind === 'file' ? e.size : -1)), [2, 1, 3]);
  assert.ok(entries.some((e) => e.kind === 'skipped' && e.reason === 'symlink'));
  assert.ok(entries.some((e) => e.kind === 'skipped' && e.reason === 'excluded'));
  const followed: string[] = [];
  for await (const e of walk([dir], { followSymlinks: true })) if (e.kind === 'file') followed.push(e.path.slice(dir.length + 1));
  assert.deepEqual(followed, ['a/1.txt', 'a/2.txt', 'b/deep/z', 'skip-me/q'], 'a is reached through the link too but walked once');
  // A name that is not UTF-8 cannot be opened through a JS string: it must show up as an error.
  writeFileSync(Buffer.concat([Buffer.from(join(dir, 'a') + '/'), Buffer.from([0x66, 0xff, 0x6f])]), 'hidden');
  const withBadName: WalkEntry[] = [];
  for await (const e of walk([join(dir, 'a')])) withBadName.push(e);
  const bad = withBadName.find((e) => e.kind === 'error');
  assert.ok(bad && bad.kind === 'error' && /not valid UTF-8/.test(bad.error.message), JSON.stringify(withBadName));
  const missing: WalkEntry[] = [];
  for await (const e of walk([join(dir, 'nope')])) missing.push(e);
  assert.equal(missing[0]?.kind, 'error');
});

test('progress rates and ETA', () => {
  const s = { ...newProgressStats(), filesTotal: 100, bytesTotal: 1e8, walkDone: true, filesDone: 50, bytesDone: 2.5e7 };
  const r = computeRates(s, 10);
  assert.equal(r.filesPerSec, 5);
  assert.equal(r.mbPerSec, 2.5);
  assert.equal(r.etaSec, 30); // bytes are the slower part: 75 MB at 2.5 MB/s
  assert.ok(Number.isNaN(computeRates({ ...s, walkDone: false }, 10).etaSec));
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(65), '1:05');
  assert.equal(formatDuration(Number.NaN), '--:--');
  assert.match(progressLine(s, 10), /^progress: 50\/100 files \(50\.0%\), 25\.0 MB, 5\.0 files\/s, 2\.5 MB\/s, ETA 0:30/);
});

const H: FileHashes = {
  path: '/srv/x',
  size: 10,
  mtimeMs: 1000.5,
  md5: 'a'.repeat(32),
  sha1: 'b'.repeat(40),
  sha256: 'c'.repeat(64),
  pdq: 'd'.repeat(64),
  quality: 40,
  imageFormat: 'jpeg',
};

test('items per file: PDQ only above the quality floor, only the requested types', () => {
  const all = new Set(['md5', 'sha1', 'sha256', 'pdq'] as const);
  assert.deepEqual(checkItemsFor(H, all, 50).map((i) => i.type), ['md5', 'sha1', 'sha256']);
  assert.deepEqual(checkItemsFor(H, all, 40).map((i) => i.type), ['md5', 'sha1', 'sha256', 'pdq']);
  assert.deepEqual(checkItemsFor(H, new Set(['sha1'] as const), 0), [{ type: 'sha1', hash: 'b'.repeat(40) }]);
});

test('exit codes: matches 1 (even with errors), errors 2, clean 0', () => {
  assert.equal(exitCodeFor({ filesMatched: 0, errors: 0, fatal: null, interrupted: false }), 0);
  assert.equal(exitCodeFor({ filesMatched: 2, errors: 3, fatal: null, interrupted: false }), 1);
  assert.equal(exitCodeFor({ filesMatched: 0, errors: 1, fatal: null, interrupted: false }), 2);
  assert.equal(exitCodeFor({ filesMatched: 0, errors: 0, fatal: '401', interrupted: false }), 2);
  assert.equal(exitCodeFor({ filesMatched: 0, errors: 0, fatal: null, interrupted: true }), 2);
});

test('state file: resume, finished runs, torn last line', (t) => {
  const dir = tmp(t);
  const p = join(dir, 'state.jsonl');
  const s1 = ScanState.open(p);
  assert.equal(s1.resumed, false);
  s1.recordHashed(H);
  s1.recordHashed({ ...H, path: '/srv/y' });
  s1.recordChecked('/srv/x', [{ type: 'md5', list: 'l', distance: 0 }]);
  s1.close(); // interrupted: no done line
  appendFileSync(p, '{"t":"h","p":"/srv/torn","s":1'); // a crash mid-write

  const s2 = ScanState.open(p);
  assert.equal(s2.resumed, true);
  assert.equal(s2.size, 2);
  assert.deepEqual(s2.lookup('/srv/x', 10, 1000.5)?.checked, [{ type: 'md5', list: 'l', distance: 0 }]);
  assert.equal(s2.lookup('/srv/y', 10, 1000.5)?.checked, undefined);
  assert.equal(s2.lookup('/srv/x', 11, 1000.5), undefined, 'size changed');
  assert.equal(s2.lookup('/srv/x', 10, 2000), undefined, 'mtime changed');
  assert.deepEqual(s2.lookup('/srv/x', 10, 1000.5)?.hashes, H);
  s2.recordChecked('/srv/y', []);
  s2.finish();
  assert.ok(!readFileSync(p, 'utf8').includes('torn'), 'compacted');

  const s3 = ScanState.open(p);
  assert.equal(s3.resumed, false);
  assert.equal(s3.size, 2);
  assert.equal(s3.lookup('/srv/x', 10, 1000.5)?.checked, undefined, 'a new run checks again');
  s3.close();
});
