import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { SNIFF_BYTES, isPdqError, pdqHashImage, sniffImageFormat, type ImageFormat } from '@hashcheck/pdq';

/** Stable codes for per-file problems; they end up in the report and the summary. */
export const FileErrorCode = {
  NOT_FOUND: 'SCAN_NOT_FOUND',
  PERMISSION_DENIED: 'SCAN_PERMISSION_DENIED',
  NOT_A_FILE: 'SCAN_NOT_A_FILE',
  SYMLINK: 'SCAN_SYMLINK',
  CHANGED_WHILE_READING: 'SCAN_CHANGED_WHILE_READING',
  READ_FAILED: 'SCAN_READ_FAILED',
  CHECK_FAILED: 'SCAN_CHECK_FAILED',
  QUARANTINE_FAILED: 'SCAN_QUARANTINE_FAILED',
  WALK_FAILED: 'SCAN_WALK_FAILED',
} as const;
export type FileErrorCode = (typeof FileErrorCode)[keyof typeof FileErrorCode];

export interface FileError {
  readonly code: FileErrorCode;
  readonly message: string;
}

export interface FileHashes {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
  /** Set when the content is a supported image that decoded. */
  readonly pdq?: string;
  readonly quality?: number;
  readonly imageFormat?: ImageFormat;
  /** Set when the content looked like an image but could not be hashed with PDQ (code: message). */
  readonly pdqError?: string;
}

export type HashOutcome = { readonly ok: true; readonly value: FileHashes } | { readonly ok: false; readonly path: string; readonly error: FileError };

export interface HashFileOptions {
  /** Compute PDQ for files whose content is a supported image. Default true. */
  readonly pdq?: boolean;
  /** Open symlinks (default false: a path that is a symlink at open time is refused). */
  readonly followSymlinks?: boolean;
  /** Images larger than this are hashed with the digests only (PDQ needs the whole file in memory). */
  readonly maxImageBytes?: number;
  /** Read chunk size. */
  readonly chunkBytes?: number;
  /** Called after each chunk is read; tests use it to change a file mid-read. */
  readonly onChunk?: (bytesRead: number) => void;
}

export const DEFAULT_MAX_IMAGE_BYTES = 256 * 1024 * 1024;
const DEFAULT_CHUNK = 1024 * 1024;

/** Map a Node fs error to a per-file code. */
export function fileErrorFromFs(err: unknown, path: string): FileError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
      return { code: FileErrorCode.NOT_FOUND, message: `${path}: no longer exists` };
    case 'EACCES':
    case 'EPERM':
      return { code: FileErrorCode.PERMISSION_DENIED, message: `${path}: permission denied` };
    case 'ELOOP':
      return { code: FileErrorCode.SYMLINK, message: `${path}: is a symbolic link (use --follow-symlinks)` };
    case 'EISDIR':
      return { code: FileErrorCode.NOT_A_FILE, message: `${path}: is a directory` };
    default:
      return { code: FileErrorCode.READ_FAILED, message: `${path}: ${reason}` };
  }
}

/**
 * Decide whether a file changed while it was read, from fstat before and after and the byte count.
 * Returns a reason or null. ctime catches truncate-and-rewrite within the same mtime tick.
 */
export function changeDuringRead(before: Stats, after: Stats, bytesRead: number): string | null {
  if (after.size !== before.size) return `size changed from ${before.size} to ${after.size} bytes`;
  if (after.mtimeMs !== before.mtimeMs) return 'modification time changed';
  if (after.ctimeMs !== before.ctimeMs) return 'status change time changed';
  if (bytesRead !== before.size) return `read ${bytesRead} bytes of ${before.size}`;
  return null;
}

class Digests {
  private readonly md5: Hash = createHash('md5');
  private readonly sha1: Hash = createHash('sha1');
  private readonly sha256: Hash = createHash('sha256');

  update(chunk: Uint8Array): void {
    this.md5.update(chunk);
    this.sha1.update(chunk);
    this.sha256.update(chunk);
  }

  digest(): { md5: string; sha1: string; sha256: string } {
    return { md5: this.md5.digest('hex'), sha1: this.sha1.digest('hex'), sha256: this.sha256.digest('hex') };
  }
}

/**
 * Digests of a file with the same chunked read loop as {@link hashFile}, for any set of algorithms
 * (benchmarks compare single algorithms with sha256sum / md5sum). Throws fs errors.
 */
export function digestFile(path: string, algorithms: readonly string[], chunkBytes = DEFAULT_CHUNK): Record<string, string> {
  const hashes = algorithms.map((a) => createHash(a));
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      for (const h of hashes) h.update(chunk);
    }
  } finally {
    closeSync(fd);
  }
  return Object.fromEntries(algorithms.map((a, i) => [a, hashes[i]!.digest('hex')]));
}

/**
 * Hash one file in a single read pass: MD5, SHA-1 and SHA-256 over a streamed read, and PDQ when the
 * first bytes say it is an image (then the file is kept in memory for the decoder). Never throws for
 * problems with the file itself: those come back as `{ ok: false }`.
 */
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<HashOutcome> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  // O_NONBLOCK: a FIFO swapped in after the walk must not hang the worker; no effect on regular files.
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlinks ? 0 : constants.O_NOFOLLOW);
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (err) {
    return { ok: false, path, error: fileErrorFromFs(err, path) };
  }
  let digests: { md5: string; sha1: string; sha256: string };
  let before: Stats;
  let imageFormat: ImageFormat | null = null;
  let imageBytes: Buffer | null = null;
  try {
    before = fstatSync(fd);
    if (!before.isFile()) {
      return { ok: false, path, error: { code: FileErrorCode.NOT_A_FILE, message: `${path}: not a regular file` } };
    }
    const d = new Digests();
    const keepWhole = options.pdq !== false && before.size <= maxImageBytes;
    let bytesRead = 0;
    const chunks: Buffer[] = [];
    let buf = Buffer.allocUnsafe(Math.max(SNIFF_BYTES, Math.min(chunkBytes, before.size || SNIFF_BYTES)));
    // Stop at the size fstat gave: saves the final zero-length read on every small file. A file
    // that grew meanwhile is caught by the second fstat below.
    while (bytesRead < before.size) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      if (bytesRead === 0 && options.pdq !== false) imageFormat = sniffImageFormat(chunk);
      d.update(chunk);
      bytesRead += n;
      if (keepWhole && imageFormat !== null) {
        chunks.push(chunk);
        buf = Buffer.allocUnsafe(buf.length);
      }
      options.onChunk?.(bytesRead);
    }
    const after = fstatSync(fd);
    const changed = changeDuringRead(before, after, bytesRead);
    if (changed !== null) {
      return {
        ok: false,
        path,
        error: { code: FileErrorCode.CHANGED_WHILE_READING, message: `${path}: changed while being read (${changed})` },
      };
    }
    digests = d.digest();
    if (imageFormat !== null && keepWhole) imageBytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  } catch (err) {
    return { ok: false, path, error: fileErrorFromFs(err, path) };
  } finally {
    closeSync(fd);
  }
  const base = { path, size: before.size, mtimeMs: before.mtimeMs, ...digests };
  if (imageFormat === null) return { ok: true, value: base };
  if (imageBytes === null) {
    return { ok: true, value: { ...base, imageFormat, pdqError: `image larger than ${maxImageBytes} bytes, PDQ skipped` } };
  }
  try {
    const r = await pdqHashImage(imageBytes);
    return { ok: true, value: { ...base, imageFormat, pdq: r.hash, quality: r.quality } };
  } catch (err) {
    const reason = isPdqError(err) ? `${err.code}: ${err.message}` : String(err);
    return { ok: true, value: { ...base, imageFormat, pdqError: reason } };
  }
}
