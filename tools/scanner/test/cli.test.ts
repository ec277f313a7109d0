// The installed command as an operator runs it (bin/hashcheck-scan.js in a child process), against
// the CONTRACT TEST DOUBLE of the hash-check API in ./contract-double.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { startContractDouble } from './contract-double';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'hashcheck-scan.js');

function run(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hc-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const hex = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');

async function somePicture(): Promise<Buffer> {
  const size = 128;
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < px.length; i++) px[i] = (Math.sin(i / 97) * 100 + 128 + ((i * 31) % 40)) & 0xff;
  return sharp(px, { raw: { width: size, height: size, channels: 3 } }).jpeg().toBuffer();
}

test('hash prints CSV with pdq for images, JSON lines with --json, exit 2 on a missing file', async (t) => {
  const dir = tmp(t);
  const text = Buffer.from('plain text\n');
  const jpeg = await somePicture();
  writeFileSync(join(dir, 'a.txt'), text);
  writeFileSync(join(dir, 'image.bin'), jpeg);
  const csv = await run(['hash', 'a.txt', 'image.bin'], {}, dir);
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trim().split('\n');
  assert.equal(lines[0], 'path,size,md5,sha1,sha256,pdq,quality');
  assert.equal(lines[1], `a.txt,${text.length},${hex('md5', text)},${hex('sha1', text)},${hex('sha256', text)},,`);
  const img = lines[2]!.split(',');
  assert.equal(img[0], 'image.bin');
  assert.equal(img[4], hex('sha256', jpeg));
  assert.match(img[5]!, /^[0-9a-f]{64}$/);
  assert.ok(Number(img[6]) >= 0 && Number(img[6]) <= 100);

  const json = await run(['hash', '--json', 'image.bin', 'a.txt'], {}, dir);
  assert.equal(json.code, 0);
  const recs = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { path: string; pdq?: string; md5: string });
  assert.deepEqual(recs.map((r) => r.path), ['image.bin', 'a.txt']);
  assert.equal(recs[0]!.pdq, img[5]);
  assert.equal(recs[1]!.pdq, undefined);

  const missing = await run(['hash', 'a.txt', 'nope.txt'], {}, dir);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /SCAN_NOT_FOUND: nope\.txt/);
  assert.equal(missing.stdout.trim().split('\n').length, 2, 'the readable file is still printed');
});

test('hash uses worker threads for many files and keeps the order given', async (t) => {
  const dir = tmp(t);
  const names: string[] = [];
  for (let i = 0; i < 12; i++) {
    names.push(`f${i}`);
    writeFileSync(join(dir, `f${i}`), randomBytes(1000 + i));
  }
  const r = await run(['hash', '--threads', '2', ...names], {}, dir);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[0]), names);
});

test('usage errors exit 2, not 1 (1 means matches)', async () => {
  const r = await run(['scan', '/tmp']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--api/);
  const k = await run(['scan', '/nonexistent', '--api', 'http://127.0.0.1:9'], { HASHCHECK_API_KEY: '' });
  assert.equal(k.code, 2);
  assert.match(k.stderr, /no API key/);
  const bad = await run(['scan', '/tmp', '--api', 'ftp://x', '--key', 'k']);
  assert.equal(bad.code, 2);
});

test('scan: CSV report, plain progress lines off a terminal, summary, exit 1 on matches', async (t) => {
  const dir = tmp(t);
  const root = join(dir, 'srv');
  mkdirSync(join(root, 'sub'), { recursive: true });
  const bad = randomBytes(3000);
  writeFileSync(join(root, 'sub', 'bad,name.bin'), bad);
  for (let i = 0; i < 5; i++) writeFileSync(join(root, `ok${i}.txt`), randomBytes(100));
  const api = await startContractDouble({
    key: 'k-123',
    entries: [{ type: 'sha1', hash: hex('sha1', bad), list: 'l1', listName: 'List one', category: 'A1' }],
  });
  t.after(() => api.close());
  const report = join(dir, 'report.csv');
  const state = join(dir, 'state.jsonl');
  const r = await run(['scan', root, '--api', api.url, '--format', 'csv', '--report', report, '--state', state, '--progress', 'lines', '--progress-interval', '1', '--threads', '2'], {
    HASHCHECK_API_KEY: 'k-123',
  });
  assert.equal(r.code, 1, r.stderr);
  const rows = readFileSync(report, 'utf8').trim().split('\n');
  assert.equal(rows[0], 'path,size,mtime,md5,sha1,sha256,pdq,quality,matched_type,list,list_name,category,distance,quarantined_to');
  assert.equal(rows.length, 2);
  assert.ok(rows[1]!.startsWith(`"${join(root, 'sub', 'bad,name.bin')}",3000,`), rows[1]);
  assert.match(rows[1]!, /,sha1,l1,List one,A1,0,$/);
  assert.match(r.stderr, /progress: \d+\/\d+ files/);
  assert.match(r.stderr, /MATCHED: +1 files/);
  assert.match(r.stderr, /exit code: +1/);
  assert.match(readFileSync(state, 'utf8'), /"t":"done"/);

  const clean = await run(['scan', join(root, 'ok0.txt'), '--api', api.url, '--key', 'k-123', '--progress', 'none']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(clean.stdout, '');

  const wrong = await run(['scan', root, '--api', api.url, '--key', 'nope', '--progress', 'none']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /401/);
});

test('scan --compat eokm reports JSON lines on stdout', async (t) => {
  const dir = tmp(t);
  const bad = randomBytes(500);
  writeFileSync(join(dir, 'x.bin'), bad);
  writeFileSync(join(dir, 'y.bin'), randomBytes(500));
  const api = await startContractDouble({ eokmUser: 'isp', eokmPassword: 'pw', entries: [{ type: 'md5', hash: hex('md5', bad), list: 'x', listName: 'x', category: 'x' }] });
  t.after(() => api.close());
  const r = await run(['scan', dir, '--api', api.url, '--compat', 'eokm', '--key', 'isp:pw', '--progress', 'none']);
  assert.equal(r.code, 1, r.stderr);
  const rec = JSON.parse(r.stdout.trim()) as { path: string; md5: string; matches: Array<{ type: string; list: string }> };
  assert.equal(rec.path, join(dir, 'x.bin'));
  assert.equal(rec.md5, hex('md5', bad));
  assert.deepEqual(rec.matches.map((m) => m.type), ['md5']);
});
