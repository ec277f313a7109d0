import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { FileErrorCode, hashFile } from '@hashcheck/scanner';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hc-hasher-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const digest = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');

test('digests match node:crypto for small, chunk-boundary and multi-chunk files', async (t) => {
  const dir = tmp(t);
  for (const size of [1, 31, 32, 33, 4096, 65536, 65537, 5 * 1024 * 1024 + 3]) {
    const data = randomBytes(size);
    const p = join(dir, `f${size}`);
    writeFileSync(p, data);
    const r = await hashFile(p, { chunkBytes: 65536 });
    assert.ok(r.ok, `size ${size}`);
    assert.equal(r.value.size, size);
    assert.equal(r.value.md5, digest('md5', data));
    assert.equal(r.value.sha1, digest('sha1', data));
    assert.equal(r.value.sha256, digest('sha256', data));
    assert.equal(r.value.pdq, undefined);
  }
});

test('images are recognised by content, not by name', async (t) => {
  const dir = tmp(t);
  const px = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7 + (i >> 8)) & 0xff;
  const png = await sharp(px, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
  writeFileSync(join(dir, 'notes.txt'), png);
  writeFileSync(join(dir, 'photo.jpg'), 'not really a jpeg');
  const img = await hashFile(join(dir, 'notes.txt'), { chunkBytes: 100 });
  assert.ok(img.ok);
  assert.equal(img.value.imageFormat, 'png');
  assert.match(img.value.pdq ?? '', /^[0-9a-f]{64}$/);
  assert.equal(img.value.md5, digest('md5', png));
  const fake = await hashFile(join(dir, 'photo.jpg'));
  assert.ok(fake.ok);
  assert.equal(fake.value.pdq, undefined);
  assert.equal(fake.value.imageFormat, undefined);
  const off = await hashFile(join(dir, 'notes.txt'), { pdq: false });
  assert.ok(off.ok);
  assert.equal(off.value.pdq, undefined);
});

test('a corrupt image still gets its digests, with the PDQ problem noted', async (t) => {
  const dir = tmp(t);
  const p = join(dir, 'broken.png');
  writeFileSync(p, Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), randomBytes(300)]));
  const r = await hashFile(p);
  assert.ok(r.ok);
  assert.equal(r.value.imageFormat, 'png');
  assert.equal(r.value.pdq, undefined);
  assert.match(r.value.pdqError ?? '', /PDQ_DECODE_FAILED/);
  const big = await hashFile(p, { maxImageBytes: 10 });
  assert.ok(big.ok);
  assert.match(big.value.pdqError ?? '', /larger than/);
});

test('a file that changes while being read is reported, not hashed', async (t) => {
  const dir = tmp(t);
  const p = join(dir, 'growing.log');
  writeFileSync(p, randomBytes(300_000));
  let appended = false;
  const r = await hashFile(p, {
    chunkBytes: 65536,
    onChunk: () => {
      if (!appended) {
        appended = true;
        appendFileSync(p, 'one more line\n');
      }
    },
  });
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error.code === FileErrorCode.CHANGED_WHILE_READING, JSON.stringify(r));
});

test('missing files, directories, FIFOs and symlinks give per-file errors', async (t) => {
  const dir = tmp(t);
  const gone = await hashFile(join(dir, 'nope'));
  assert.ok(!gone.ok && gone.error.code === FileErrorCode.NOT_FOUND);
  const d = await hashFile(dir);
  assert.ok(!d.ok && d.error.code === FileErrorCode.NOT_A_FILE);
  writeFileSync(join(dir, 'target'), 'x');
  symlinkSync(join(dir, 'target'), join(dir, 'link'));
  const link = await hashFile(join(dir, 'link'));
  assert.ok(!link.ok && link.error.code === FileErrorCode.SYMLINK);
  const followed = await hashFile(join(dir, 'link'), { followSymlinks: true });
  assert.ok(followed.ok && followed.value.md5 === digest('md5', Buffer.from('x')));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  // Must not block waiting for a writer.
  const fifo = await hashFile(join(dir, 'fifo'));
  assert.ok(!fifo.ok && fifo.error.code === FileErrorCode.NOT_A_FILE);
});

test('permission denied is reported per file', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('running as root: file permissions do not apply, cannot provoke EACCES');
    return;
  }
  const dir = tmp(t);
  const p = join(dir, 'secret');
  writeFileSync(p, 'x', { mode: 0o000 });
  const r = await hashFile(p);
  assert.ok(!r.ok && r.error.code === FileErrorCode.PERMISSION_DENIED);
});
