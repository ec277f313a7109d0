import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, constants, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FileHashes } from './file-hasher';
import type { FileMatch } from './state';

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface QuarantineResult {
  readonly quarantinedPath: string;
  readonly method: 'rename' | 'copy';
}

/**
 * Moves matched files into `<dir>/files/<sha256>` (read-only, owner only) and keeps
 * `<dir>/manifest.jsonl`: a `moving` line with the original path, hashes, matches and the time
 * before the move, then `moved` or `failed` after it, each synced to disk. Evidence is preserved:
 * the content is never changed, a cross-device move is copied and verified by SHA-256 before the
 * original is removed, and a file that changed since it was hashed is left in place.
 */
export class Quarantine {
  readonly dir: string;
  private readonly filesDir: string;
  private readonly manifestPath: string;
  private ready: Promise<void> | null = null;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.filesDir = join(this.dir, 'files');
    this.manifestPath = join(this.dir, 'manifest.jsonl');
  }

  private init(): Promise<void> {
    this.ready ??= mkdir(this.filesDir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready;
  }

  private async log(entry: Record<string, unknown>): Promise<void> {
    const fh = await open(this.manifestPath, 'a', 0o600);
    try {
      await fh.write(JSON.stringify(entry) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async move(h: FileHashes, matches: readonly FileMatch[]): Promise<QuarantineResult> {
    await this.init();
    const st = await lstat(h.path);
    if (!st.isFile()) throw new Error(`${h.path}: no longer a regular file, not moved`);
    if (st.size !== h.size || st.mtimeMs !== h.mtimeMs) throw new Error(`${h.path}: changed since it was hashed, not moved`);
    let target = join(this.filesDir, h.sha256);
    for (let n = 1; await lstat(target).then(() => true, () => false); n++) target = join(this.filesDir, `${h.sha256}.${n}`);
    const base = {
      originalPath: h.path,
      quarantinedPath: target,
      size: h.size,
      mtime: new Date(h.mtimeMs).toISOString(),
      mode: (st.mode & 0o7777).toString(8),
      uid: st.uid,
      gid: st.gid,
      md5: h.md5,
      sha1: h.sha1,
      sha256: h.sha256,
      ...(h.pdq !== undefined ? { pdq: h.pdq, quality: h.quality } : {}),
      matches,
    };
    await this.log({ event: 'moving', at: new Date().toISOString(), ...base });
    try {
      let method: QuarantineResult['method'] = 'rename';
      try {
        await rename(h.path, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        method = 'copy';
        await copyFile(h.path, target, constants.COPYFILE_EXCL);
        const copied = await sha256Of(target);
        if (copied !== h.sha256) {
          await unlink(target);
          throw new Error(`copy of ${h.path} does not match its SHA-256 (file changed?), original left in place`);
        }
        await unlink(h.path);
      }
      await chmod(target, 0o400);
      await this.log({ event: 'moved', at: new Date().toISOString(), originalPath: h.path, quarantinedPath: target, sha256: h.sha256, method });
      return { quarantinedPath: target, method };
    } catch (err) {
      await this.log({ event: 'failed', at: new Date().toISOString(), originalPath: h.path, error: (err as Error).message });
      throw err;
    }
  }
}
