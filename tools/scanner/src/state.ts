import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { ListMatch } from './api-client';
import type { FileHashes } from './file-hasher';

/** A match as recorded: which of the file's hashes matched, and the list entry. */
export interface FileMatch extends ListMatch {
  readonly type: string;
}

export interface StateEntry {
  readonly hashes: FileHashes;
  /** Set once the hashes were checked in the current run; the matches found (possibly none). */
  checked?: readonly FileMatch[];
}

type HashedRecord = {
  t: 'h';
  p: string;
  s: number;
  m: number;
  md5: string;
  sha1: string;
  sha256: string;
  pdq?: string;
  q?: number;
  f?: string;
  pe?: string;
};
type CheckedRecord = { t: 'c'; p: string; r: FileMatch[] };
type RunRecord = { t: 'run'; v: 1; at: string };
type DoneRecord = { t: 'done'; at: string };
type StateRecord = HashedRecord | CheckedRecord | RunRecord | DoneRecord;

function toRecord(h: FileHashes): HashedRecord {
  const r: HashedRecord = { t: 'h', p: h.path, s: h.size, m: h.mtimeMs, md5: h.md5, sha1: h.sha1, sha256: h.sha256 };
  if (h.pdq !== undefined) r.pdq = h.pdq;
  if (h.quality !== undefined) r.q = h.quality;
  if (h.imageFormat !== undefined) r.f = h.imageFormat;
  if (h.pdqError !== undefined) r.pe = h.pdqError;
  return r;
}

function fromRecord(r: HashedRecord): FileHashes {
  return {
    path: r.p,
    size: r.s,
    mtimeMs: r.m,
    md5: r.md5,
    sha1: r.sha1,
    sha256: r.sha256,
    ...(r.pdq !== undefined ? { pdq: r.pdq } : {}),
    ...(r.q !== undefined ? { quality: r.q } : {}),
    ...(r.f !== undefined ? { imageFormat: r.f as FileHashes['imageFormat'] } : {}),
    ...(r.pe !== undefined ? { pdqError: r.pe } : {}),
  };
}

/**
 * The resumable state of a scan, as an append-only JSON-lines file: a `run` header, one `h` line per
 * hashed file (path, size, mtime, hashes), one `c` line per checked file (its matches) and `done` at
 * the end. Opening an interrupted state resumes it (checked files are not sent again); opening a
 * finished one starts a new run that reuses the hashes of unchanged files but checks everything
 * again, since the lists change. A torn last line from a crash is ignored.
 */
export class ScanState {
  private readonly entries = new Map<string, StateEntry>();
  private fd: number | null = null;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** True when an unfinished run was picked up. */
  readonly resumed: boolean;

  private constructor(
    private readonly path: string,
    resumed: boolean,
  ) {
    this.resumed = resumed;
  }

  static open(path: string): ScanState {
    const records: StateRecord[] = [];
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          records.push(JSON.parse(line) as StateRecord);
        } catch {
          // A line torn by a crash or a full disk: everything after it is unknown too.
          break;
        }
      }
    }
    const finished = records.length === 0 || records[records.length - 1]!.t === 'done';
    const state = new ScanState(path, !finished);
    for (const r of records) {
      if (r.t === 'h') {
        state.entries.set(r.p, { hashes: fromRecord(r) });
      } else if (r.t === 'c' && !finished) {
        const e = state.entries.get(r.p);
        if (e) e.checked = r.r;
      }
    }
    state.compact();
    return state;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Hashes of a file from an earlier run, if it has not changed since (same size and mtime). */
  lookup(path: string, size: number, mtimeMs: number): StateEntry | undefined {
    const e = this.entries.get(path);
    return e && e.hashes.size === size && e.hashes.mtimeMs === mtimeMs ? e : undefined;
  }

  recordHashed(h: FileHashes): void {
    this.entries.set(h.path, { hashes: h });
    this.append(toRecord(h));
  }

  recordChecked(path: string, matches: readonly FileMatch[]): void {
    const e = this.entries.get(path);
    if (e) e.checked = matches;
    this.append({ t: 'c', p: path, r: [...matches] });
  }

  /** Mark the run complete and close the file. */
  finish(): void {
    this.append({ t: 'done', at: new Date().toISOString() });
    this.close();
  }

  /** Write out what is buffered (also on interruption) and close. */
  close(): void {
    this.flush(true);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  flush(sync = false): void {
    if (this.fd === null || this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    if (sync) fsyncSync(this.fd);
  }

  // Rewrite the file with only what is still useful, atomically, then append from there.
  private compact(): void {
    const tmp = `${this.path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    const lines: string[] = [JSON.stringify({ t: 'run', v: 1, at: new Date().toISOString() } satisfies RunRecord)];
    for (const e of this.entries.values()) {
      lines.push(JSON.stringify(toRecord(e.hashes)));
      if (e.checked) lines.push(JSON.stringify({ t: 'c', p: e.hashes.path, r: [...e.checked] } satisfies CheckedRecord));
    }
    writeSync(fd, lines.join('\n') + '\n');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a', 0o600);
    this.timer = setInterval(() => this.flush(), 1000);
    this.timer.unref();
  }

  private append(r: StateRecord): void {
    this.buffer.push(JSON.stringify(r) + '\n');
    if (this.buffer.length >= 2000) this.flush();
  }
}
