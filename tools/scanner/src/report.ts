import { createWriteStream, type WriteStream } from 'node:fs';
import type { FileHashes } from './file-hasher';
import type { FileMatch } from './state';

export const REPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A matched file as it appears in the report. */
export interface MatchRecord {
  readonly path: string;
  readonly size: number;
  /** ISO 8601 modification time. */
  readonly mtime: string;
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
  readonly pdq?: string;
  readonly quality?: number;
  readonly matches: readonly FileMatch[];
  /** Where the file was moved, when quarantined. */
  readonly quarantinedTo?: string;
}

export function matchRecord(h: FileHashes, matches: readonly FileMatch[]): MatchRecord {
  return {
    path: h.path,
    size: h.size,
    mtime: new Date(h.mtimeMs).toISOString(),
    md5: h.md5,
    sha1: h.sha1,
    sha256: h.sha256,
    ...(h.pdq !== undefined ? { pdq: h.pdq } : {}),
    ...(h.quality !== undefined ? { quality: h.quality } : {}),
    matches,
  };
}

/** RFC 4180 field: quoted when it holds a comma, quote, line break or edge whitespace. */
export function csvField(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return '';
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(fields: ReadonlyArray<string | number | undefined | null>): string {
  return fields.map(csvField).join(',') + '\n';
}

export const MATCH_CSV_HEADER = [
  'path', 'size', 'mtime', 'md5', 'sha1', 'sha256', 'pdq', 'quality',
  'matched_type', 'list', 'list_name', 'category', 'distance', 'quarantined_to',
] as const;

/** Lines for one matched file: one JSON line, or one CSV row per list entry that matched. */
export function formatMatch(format: ReportFormat, r: MatchRecord): string {
  if (format === 'jsonl') return JSON.stringify(r) + '\n';
  const rows = r.matches.length > 0 ? r.matches : [undefined];
  return rows
    .map((m) =>
      csvLine([
        r.path, r.size, r.mtime, r.md5, r.sha1, r.sha256, r.pdq, r.quality,
        m?.type, m?.list, m?.listName, m?.category, m?.distance, r.quarantinedTo,
      ]),
    )
    .join('');
}

export interface ReportSink {
  write(r: MatchRecord): void;
  close(): Promise<void>;
}

/** Report to a file (created/truncated) or to stdout for `-`. */
export function openReport(target: string, format: ReportFormat): ReportSink {
  const toStdout = target === '-';
  const out: NodeJS.WritableStream | WriteStream = toStdout ? process.stdout : createWriteStream(target, { flags: 'w', mode: 0o600 });
  if (format === 'csv') out.write(csvLine([...MATCH_CSV_HEADER]));
  return {
    write: (r) => void out.write(formatMatch(format, r)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (toStdout) return resolve();
        (out as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Collects records in memory (tests, programmatic use). */
export class MemoryReport implements ReportSink {
  readonly records: MatchRecord[] = [];
  write(r: MatchRecord): void {
    this.records.push(r);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
