import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { ErrorCode, hasCode, HashCheckError } from '@hashcheck/errors';
import { ChunkBuilder } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';
import { CheckCode } from '../domain/codes';
import { newReleaseId } from '../domain/ids';
import { ListFileParser, type EntryOp, type ListEntry, type ListFileFormat, type ReleaseMode } from '../domain/list-file';
import { emptyCounts, MAX_STORED_ERRORS, type ListStore, type ReleaseDoc } from '../store/lists';

/**
 * Writes one release: entries go into per (operation, type) chunk builders, full chunks are sealed
 * and stored as they fill, so memory stays at one chunk per builder whatever the release's size.
 */
export class ReleaseWriter {
  private readonly builders = new Map<string, ChunkBuilder>();
  private seq = 0;
  private lines = 0;
  private readonly counts = { add: emptyCounts(), retract: emptyCounts() };
  private errorCount = 0;
  private readonly errors: { line: number; reason: string }[] = [];

  private constructor(
    private readonly store: ListStore,
    readonly release: ReleaseDoc,
    private readonly chunkSize: number,
  ) {}

  static async open(store: ListStore, opts: { listId: string; mode: ReleaseMode; format: ReleaseDoc['format']; by: string; note?: string | undefined; chunkSize: number }): Promise<ReleaseWriter> {
    const release = await store.createRelease(opts.listId, opts.mode, opts.format, opts.by, newReleaseId(), opts.note);
    return new ReleaseWriter(store, release, opts.chunkSize);
  }

  get entries(): number {
    return ListStoreTotal(this.counts.add) + ListStoreTotal(this.counts.retract);
  }

  line(): void {
    this.lines++;
  }

  error(line: number, reason: string): void {
    this.errorCount++;
    if (this.errors.length < MAX_STORED_ERRORS) this.errors.push({ line, reason });
  }

  get errorTotal(): number {
    return this.errorCount;
  }

  async add(entry: ListEntry): Promise<void> {
    const key = `${entry.op}:${entry.type}`;
    let b = this.builders.get(key);
    if (b === undefined) {
      b = new ChunkBuilder(entry.type, entry.op, this.chunkSize);
      this.builders.set(key, b);
    }
    b.addHex(entry.hash, entry.category, entry.series);
    this.counts[entry.op][entry.type]++;
    if (b.full) await this.flush(b);
  }

  private async flush(b: ChunkBuilder): Promise<void> {
    if (b.size === 0) return;
    await this.store.writeChunk(this.release, this.seq++, b.take());
  }

  /** Stores the last chunks and marks the release ready (or failed, with the reason). */
  async finish(failure?: string): Promise<ReleaseDoc> {
    if (failure === undefined) for (const b of this.builders.values()) await this.flush(b);
    const result = { lines: this.lines, counts: this.counts, errorCount: this.errorCount, errors: this.errors, chunks: this.seq };
    return this.store.finishRelease(this.release._id, result, failure === undefined ? 'ready' : 'failed', failure);
  }
}

function ListStoreTotal(c: Record<HashType, number>): number {
  return c.md5 + c.sha1 + c.sha256 + c.pdq;
}

export interface ImportOptions {
  listId: string;
  mode: ReleaseMode;
  format: ListFileFormat;
  type?: HashType | undefined;
  by: string;
  note?: string | undefined;
  chunkSize: number;
  maxBytes: number;
  /** Refuse the release when more lines than this are malformed (default: no limit). */
  maxErrors?: number | undefined;
}

/**
 * Imports a list file from a stream: line by line, malformed lines recorded with their numbers and
 * reasons without stopping the rest. The release ends `ready` (activate it separately, or let the
 * caller do it) or `failed` (nothing of it can ever become active).
 */
export async function importStream(store: ListStore, input: Readable, opts: ImportOptions): Promise<ReleaseDoc> {
  const parser = new ListFileParser({ format: opts.format, mode: opts.mode, type: opts.type });
  const writer = await ReleaseWriter.open(store, { listId: opts.listId, mode: opts.mode, format: opts.format, by: opts.by, note: opts.note, chunkSize: opts.chunkSize });
  let bytes = 0;
  let lineNo = 0;
  const handle = async (raw: string): Promise<void> => {
    lineNo++;
    writer.line();
    const r = parser.parse(raw.endsWith('\r') ? raw.slice(0, -1) : raw, lineNo);
    if (r.kind === 'entry') await writer.add(r.entry);
    else if (r.kind === 'error') writer.error(lineNo, r.reason);
  };
  try {
    // Own line splitting over the stream's async iterator: it pulls the next block only when the
    // previous one is stored, so a slow database slows the upload instead of filling memory.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for await (const block of input as AsyncIterable<Buffer | string>) {
      bytes += typeof block === 'string' ? Buffer.byteLength(block) : block.length;
      if (bytes > opts.maxBytes) {
        const failed = await writer.finish(`list file larger than ${opts.maxBytes} bytes`);
        input.destroy();
        throw new HashCheckError(ErrorCode.PAYLOAD_TOO_LARGE, `list file larger than ${opts.maxBytes} bytes`, { details: { releaseId: failed._id } });
      }
      const text = rest + (typeof block === 'string' ? block : decoder.write(block));
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        await handle(text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    rest += decoder.end();
    if (rest.length > 0) await handle(rest);
  } catch (err) {
    if (hasCode(err, ErrorCode.PAYLOAD_TOO_LARGE)) throw err;
    const reason = `upload interrupted after line ${lineNo}: ${(err as Error).message}`;
    const failed = await writer.finish(reason);
    throw new HashCheckError(CheckCode.IMPORT_FAILED, reason, { statusCode: 400, details: { releaseId: failed._id }, cause: err });
  }
  if (parser.missingHeader) return writer.finish('the csv file has no header line');
  if (writer.entries === 0) return writer.finish(writer.errorTotal > 0 ? `no valid line (${writer.errorTotal} malformed)` : 'the file has no entries');
  if (opts.maxErrors !== undefined && writer.errorTotal > opts.maxErrors) return writer.finish(`${writer.errorTotal} malformed lines, more than the ${opts.maxErrors} allowed`);
  return writer.finish();
}

/** Writes a small delta release from entries given in a request (all already validated). */
export async function writeEntries(store: ListStore, listId: string, entries: readonly ListEntry[], by: string, chunkSize: number, note?: string): Promise<ReleaseDoc> {
  const writer = await ReleaseWriter.open(store, { listId, mode: 'delta', format: 'json', by, note, chunkSize });
  for (const e of entries) {
    writer.line();
    await writer.add(e);
  }
  return writer.finish();
}

export type { EntryOp };
