// The scan pipeline end to end against a real HTTP server: the CONTRACT TEST DOUBLE of the
// hash-check API in ./contract-double.ts (the real service is exercised by the end-to-end suite).
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  BulkChecker,
  EokmChecker,
  FileErrorCode,
  HashPool,
  MemoryReport,
  Quarantine,
  hashFile,
  runScan,
  type Checker,
  type ScanOptions,
} from '@hashcheck/scanner';
import { startContractDouble, type DoubleOptions, type ListedHash } from './contract-double';

const KEY = 'scanner-test-key';
// One pool of hashing threads for every scan in this file: thread start-up dominates small scans.
const pool = new HashPool({ threads: 2 });
after(() => pool.close());
const FAST_RETRY = { retries: 3, baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 5000 };
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hc-scan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function picture(seed: number, size = 256): Promise<Buffer> {
  const px = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = 128 + 80 * Math.sin((x + seed * 13) / (6 + seed)) * Math.cos((y - seed * 7) / (9 + seed));
      px.fill(Math.max(0, Math.min(255, Math.round(v))), (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  }
  return sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

interface Tree {
  root: string;
  listed: ListedHash[];
  bad1: string;
  bad2: string;
  photo: string;
  clean: string[];
}

// A server tree: clean files, one file listed by MD5, one by SHA-256, a picture listed by the PDQ
// of a slightly different encoding of it, an empty file, a symlink to a listed file and a FIFO.
async function makeTree(t: TestContext): Promise<Tree> {
  const root = tmp(t);
  mkdirSync(join(root, 'www', 'uploads'), { recursive: true });
  mkdirSync(join(root, 'home', 'user'), { recursive: true });
  const clean: string[] = [];
  for (let i = 0; i < 12; i++) {
    const p = join(root, 'www', `page-${i}.html`);
    writeFileSync(p, `<html>${randomBytes(200 + i * 50).toString('hex')}</html>`);
    clean.push(p);
  }
  const bad1Content = randomBytes(5000);
  const bad1 = join(root, 'www', 'uploads', 'a.bin');
  writeFileSync(bad1, bad1Content);
  const bad2Content = randomBytes(70_000);
  const bad2 = join(root, 'home', 'user', 'b.dat');
  writeFileSync(bad2, bad2Content);
  const png = await picture(1);
  const photo = join(root, 'www', 'uploads', 'holiday.data'); // an image under a misleading name
  writeFileSync(photo, png);
  const listedPicture = await sharp(png).jpeg({ quality: 70 }).toBuffer();
  const { hash: listedPdq } = await import('@hashcheck/pdq').then((m) => m.pdqHashImage(listedPicture));
  writeFileSync(join(root, 'www', 'empty.txt'), '');
  symlinkSync(bad1, join(root, 'home', 'user', 'link-to-a'));
  execFileSync('mkfifo', [join(root, 'home', 'user', 'pipe')]);
  const listed: ListedHash[] = [
    { type: 'md5', hash: md5(bad1Content), list: 'police-nl', listName: 'Police NL', category: 'A1' },
    { type: 'sha256', hash: sha256(bad2Content), list: 'hotline', listName: 'Hotline', category: 'B2' },
    { type: 'pdq', hash: listedPdq, list: 'pdq-list', listName: 'PDQ list', category: 'A1' },
    { type: 'md5', hash: md5('something else entirely'), list: 'police-nl', listName: 'Police NL', category: 'A1' },
  ];
  return { root, listed, bad1, bad2, photo, clean };
}

async function double(t: TestContext, options: DoubleOptions) {
  const d = await startContractDouble({ key: KEY, ...options });
  t.after(() => d.close());
  return d;
}

function scanOptions(roots: string[], checker: Checker, extra: Partial<ScanOptions> = {}): ScanOptions & { report: MemoryReport; logs: string[] } {
  const logs: string[] = [];
  const report = new MemoryReport();
  return { roots, checker, report, pool, log: (l) => logs.push(l), batchWaitMs: 200, logs, ...extra } as ScanOptions & { report: MemoryReport; logs: string[] };
}

test('finds files listed by MD5, SHA-256 and PDQ; skips symlinks, FIFOs and empty files', async (t) => {
  const tree = await makeTree(t);
  const api = await double(t, { entries: tree.listed });
  // No time-based sealing: everything fits in one batch, sent when the walk is done.
  const opts = scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { batchWaitMs: 600_000 });
  const s = await runScan(opts);
  assert.equal(s.exitCode, 1, opts.logs.join('\n'));
  assert.equal(s.filesMatched, 3);
  assert.equal(s.errors, 0, opts.logs.join('\n'));
  assert.equal(s.skippedSymlinks, 1);
  assert.equal(s.skippedSpecial, 1);
  assert.equal(s.skippedEmpty, 1);
  assert.equal(s.filesHashed, 15);
  assert.equal(s.images, 1);
  const byPath = new Map(opts.report.records.map((r) => [r.path, r]));
  assert.deepEqual([...byPath.keys()].sort(), [tree.bad1, tree.bad2, tree.photo].sort());
  const a = byPath.get(tree.bad1)!;
  assert.deepEqual(a.matches, [{ type: 'md5', list: 'police-nl', listName: 'Police NL', category: 'A1', distance: 0 }]);
  assert.equal(a.size, 5000);
  assert.equal(a.mtime, new Date(statSync(tree.bad1).mtimeMs).toISOString());
  assert.equal(a.sha256, sha256(readFileSync(tree.bad1)));
  assert.deepEqual(byPath.get(tree.bad2)!.matches.map((m) => [m.type, m.category]), [['sha256', 'B2']]);
  const photo = byPath.get(tree.photo)!;
  assert.equal(photo.matches[0]?.type, 'pdq');
  assert.ok((photo.matches[0]?.distance ?? 99) <= 31);
  assert.ok((photo.quality ?? 0) >= 50);
  // Only hashes went over the wire, all in one request here.
  assert.equal(api.requests.length, 1);
  assert.equal(api.requests[0]!.items, 15 * 3 + 1);
});

test('--follow-symlinks scans what links point to, once per directory', async (t) => {
  const tree = await makeTree(t);
  symlinkSync(join(tree.root, 'www'), join(tree.root, 'home', 'loop-to-www'));
  const api = await double(t, { entries: tree.listed });
  const opts = scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { followSymlinks: true });
  const s = await runScan(opts);
  assert.equal(s.filesMatched, 4); // the link to a.bin is now a file of its own
  assert.equal(s.skippedSymlinks, 0);
  assert.equal(s.errors, 0);
  // www is reached twice (directly and through the link) but walked once.
  assert.equal(s.filesHashed, 16);
});

test('a clean tree exits 0', async (t) => {
  const tree = await makeTree(t);
  const api = await double(t, { entries: [] });
  const s = await runScan(scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY })));
  assert.equal(s.exitCode, 0);
  assert.equal(s.filesMatched, 0);
  assert.equal(s.filesChecked, 15);
});

test('batches respect the item limit and the concurrency bound', async (t) => {
  const tree = await makeTree(t);
  const api = await double(t, { entries: tree.listed, delayMs: 30 });
  const opts = scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }, 8), { apiConcurrency: 2 });
  const s = await runScan(opts);
  assert.equal(s.filesMatched, 3);
  assert.ok(api.requests.length >= 6, `${api.requests.length} requests`);
  for (const r of api.requests) assert.ok(r.items <= 8);
  assert.ok(api.maxInFlight() <= 2);
  assert.equal(s.itemsSent, 46);
});

test('a server with a lower limit (413) gets the batch split', async (t) => {
  const tree = await makeTree(t);
  const api = await double(t, { entries: tree.listed, maxItems: 10 });
  const s = await runScan(scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY })));
  assert.equal(s.filesMatched, 3);
  assert.equal(s.errors, 0);
  assert.ok(api.requests.some((r) => r.status === 413));
});

test('429 and 5xx are retried, honouring Retry-After', async (t) => {
  const tree = await makeTree(t);
  const api = await double(t, { entries: tree.listed, script: [{ status: 429, retryAfter: '1' }, { status: 503 }, { status: 502 }] });
  const retries: number[] = [];
  const checker = new BulkChecker(api.url, KEY, { retry: FAST_RETRY, onRetry: (r) => retries.push(r.delayMs) });
  const opts = scanOptions([tree.root], checker, { batchWaitMs: 60_000 });
  const s = await runScan(opts);
  assert.equal(s.filesMatched, 3);
  assert.equal(s.errors, 0);
  assert.deepEqual(api.requests.map((r) => r.status), [429, 503, 502, 200]);
  assert.equal(retries[0], 1000);
  assert.ok(api.requests[1]!.at - api.requests[0]!.at >= 950, 'waited for Retry-After');
});

test('a wrong key stops the scan with exit 2', async (t) => {
  const tree = await makeTree(t);
  const api = await double(t, { entries: tree.listed, keyWithoutScope: 'read-only' });
  const bad = await runScan(scanOptions([tree.root], new BulkChecker(api.url, 'wrong', { retry: FAST_RETRY })));
  assert.equal(bad.exitCode, 2);
  assert.match(bad.fatal ?? '', /401/);
  assert.equal(bad.filesMatched, 0);
  const scope = await runScan(scanOptions([tree.root], new BulkChecker(api.url, 'read-only', { retry: FAST_RETRY })));
  assert.equal(scope.exitCode, 2);
  assert.match(scope.fatal ?? '', /403/);
  assert.equal(api.requests.filter((r) => r.status === 401).length, 1, 'no retries on 401');
});

test('an unreachable API is reported; the hashes are kept and a later run checks them without re-hashing', async (t) => {
  const tree = await makeTree(t);
  const state = join(tmp(t), 'state.jsonl');
  const closed = await startContractDouble({});
  const deadUrl = closed.url;
  await closed.close();
  const opts = scanOptions([tree.root], new BulkChecker(deadUrl, KEY, { retry: FAST_RETRY }), { statePath: state, batchItems: 20 });
  const down = await runScan(opts);
  assert.equal(down.exitCode, 2);
  assert.equal(down.apiUnavailable, true);
  assert.equal(down.filesHashed, 15);
  assert.equal(down.errorsByCode[FileErrorCode.CHECK_FAILED], 15);
  assert.ok(opts.logs.some((l) => /API unavailable/.test(l) && /ECONNREFUSED/.test(l)), opts.logs.join('\n'));

  const api = await double(t, { entries: tree.listed });
  const up = await runScan(scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { statePath: state }));
  assert.equal(up.exitCode, 1);
  assert.equal(up.filesHashed, 0, 'nothing re-hashed');
  assert.equal(up.filesReused, 15);
  assert.equal(up.filesMatched, 3);
  assert.equal(up.errors, 0);
});

test('an interrupted scan resumes: checked files are not sent again, hashed ones not re-hashed', async (t) => {
  const tree = await makeTree(t);
  const state = join(tmp(t), 'state.jsonl');
  const api = await double(t, { entries: tree.listed });
  const controller = new AbortController();
  const inner = new BulkChecker(api.url, KEY, { retry: FAST_RETRY }, 4);
  let calls = 0;
  // Interrupt right after the first batch was answered (like Ctrl-C in the middle of a scan).
  const checker: Checker = {
    maxBatch: inner.maxBatch,
    types: inner.types,
    check: async (items, signal) => {
      const r = await inner.check(items, signal);
      if (++calls === 1) controller.abort(new Error('SIGINT'));
      return r;
    },
  };
  const first = await runScan(scanOptions([tree.root], checker, { statePath: state, apiConcurrency: 1, signal: controller.signal }));
  assert.equal(first.interrupted, true);
  assert.equal(first.exitCode === 2 || first.exitCode === 1, true);
  assert.ok(first.filesChecked >= 1 && first.filesChecked < 15, `checked ${first.filesChecked}`);
  const hashedBefore = first.filesHashed;

  const resumed = await runScan(scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { statePath: state }));
  assert.equal(resumed.filesAlreadyChecked, first.filesChecked);
  assert.equal(resumed.filesHashed, 15 - hashedBefore, 'only the files not hashed before are hashed');
  assert.equal(resumed.filesMatched, 3, 'matches from both runs are in the report');
  assert.equal(resumed.exitCode, 1);

  // The run is complete: the next one reuses every hash but checks everything again.
  writeFileSync(tree.clean[0]!, 'changed content');
  utimesSync(tree.clean[0]!, new Date(), new Date(Date.now() + 5000));
  const again = await runScan(scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { statePath: state }));
  assert.equal(again.filesAlreadyChecked, 0);
  assert.equal(again.filesHashed, 1, 'only the changed file');
  assert.equal(again.filesReused, 14);
  assert.equal(again.filesChecked, 15);
  assert.equal(again.filesMatched, 3);
});

test('--quarantine moves matches with a manifest; --dry-run moves nothing', async (t) => {
  const tree = await makeTree(t);
  const qdir = join(tree.root, 'quarantine'); // inside the scanned tree: must be left out of the walk
  const api = await double(t, { entries: tree.listed });
  const dry = await runScan(scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { quarantineDir: qdir, dryRun: true }));
  assert.equal(dry.wouldQuarantine, 3);
  assert.equal(dry.quarantined, 0);
  assert.ok(existsSync(tree.bad1) && existsSync(tree.bad2) && existsSync(tree.photo));
  assert.ok(!existsSync(join(qdir, 'manifest.jsonl')));

  const bad1 = readFileSync(tree.bad1);
  const opts = scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { quarantineDir: qdir });
  const s = await runScan(opts);
  assert.equal(s.quarantined, 3, opts.logs.join('\n'));
  assert.equal(s.exitCode, 1);
  assert.ok(!existsSync(tree.bad1) && !existsSync(tree.bad2) && !existsSync(tree.photo));
  const moved = join(qdir, 'files', sha256(bad1));
  assert.deepEqual(readFileSync(moved), bad1);
  assert.equal(statSync(moved).mode & 0o777, 0o400);
  const manifest = readFileSync(join(qdir, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(manifest.filter((m) => m.event === 'moving').length, 3);
  assert.equal(manifest.filter((m) => m.event === 'moved').length, 3);
  const entry = manifest.find((m) => m.event === 'moving' && m.originalPath === tree.bad1)!;
  assert.equal(entry.md5, md5(bad1));
  assert.equal(entry.sha1, sha1(bad1));
  assert.equal(entry.quarantinedPath, moved);
  assert.ok(typeof entry.at === 'string' && !Number.isNaN(Date.parse(entry.at)));
  assert.equal(opts.report.records.find((r) => r.path === tree.bad1)?.quarantinedTo, moved);

  // The quarantine folder itself is never scanned (its files would all match again).
  const after = await runScan(scanOptions([tree.root], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), { quarantineDir: qdir }));
  assert.equal(after.filesMatched, 0);
  assert.equal(after.skippedExcluded, 1);
});

test('per-file errors are reported and the scan goes on', async (t) => {
  const tree = await makeTree(t);
  symlinkSync(join(tree.root, 'does-not-exist'), join(tree.root, 'www', 'dangling'));
  const api = await double(t, { entries: tree.listed });
  const errors: string[] = [];
  const opts = scanOptions([tree.root, join(tree.root, 'no-such-dir')], new BulkChecker(api.url, KEY, { retry: FAST_RETRY }), {
    followSymlinks: true,
    onError: (e) => errors.push(e.code),
  });
  const s = await runScan(opts);
  assert.equal(s.filesMatched, 4);
  assert.equal(s.errors, 2);
  assert.deepEqual(errors.sort(), [FileErrorCode.NOT_FOUND, FileErrorCode.NOT_FOUND]);
  assert.equal(s.exitCode, 1, 'matches win over errors in the exit code');
});

test('--compat eokm asks the single-hash API with Basic auth', async (t) => {
  const tree = await makeTree(t);
  const api = await double(t, { entries: tree.listed, eokmUser: 'hoster', eokmPassword: 's3cret' });
  const opts = scanOptions([tree.root], new EokmChecker(api.url, 'hoster:s3cret', { retry: FAST_RETRY }, 4));
  const s = await runScan(opts);
  // Only MD5 and SHA-1 exist there: the MD5-listed file matches, the SHA-256 and PDQ ones cannot.
  assert.equal(s.filesMatched, 1, opts.logs.join('\n'));
  assert.equal(opts.report.records[0]?.path, tree.bad1);
  assert.deepEqual(opts.report.records[0]?.matches, [{ type: 'md5', list: 'eokm', distance: 0 }]);
  assert.equal(api.requests.filter((r) => r.path === '/v1/check/md5').length, 15);
  assert.equal(api.requests.filter((r) => r.path === '/v1/check/sha1').length, 15);
  const bad = await runScan(scanOptions([tree.root], new EokmChecker(api.url, 'hoster:wrong', { retry: FAST_RETRY })));
  assert.equal(bad.exitCode, 2);
  assert.match(bad.fatal ?? '', /401/);
});

test('quarantine across file systems copies, verifies and removes; a changed file stays put', async (t) => {
  const src = tmp(t);
  const shm = '/dev/shm';
  if (!existsSync(shm) || statSync(shm).dev === statSync(src).dev) {
    t.skip('needs /dev/shm on another file system than the temp dir to force a cross-device move');
    return;
  }
  const qdir = mkdtempSync(join(shm, 'hc-quarantine-'));
  t.after(() => rmSync(qdir, { recursive: true, force: true }));
  const content = randomBytes(100_000);
  const p = join(src, 'evidence.bin');
  writeFileSync(p, content);
  const h = await hashFile(p);
  assert.ok(h.ok);
  const q = new Quarantine(qdir);
  const r = await q.move(h.value, [{ type: 'sha256', list: 'l', distance: 0 }]);
  assert.equal(r.method, 'copy');
  assert.ok(!existsSync(p));
  assert.deepEqual(readFileSync(r.quarantinedPath), content);

  const p2 = join(src, 'changing.bin');
  writeFileSync(p2, 'before');
  const h2 = await hashFile(p2);
  assert.ok(h2.ok);
  writeFileSync(p2, 'after, and longer');
  await assert.rejects(q.move(h2.value, []), /changed since it was hashed/);
  assert.ok(existsSync(p2));
  const events = readFileSync(join(qdir, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
  assert.deepEqual(events, ['moving', 'moved']);
});
