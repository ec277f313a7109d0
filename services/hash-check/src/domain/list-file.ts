import { HASH_BYTES, isHashType, isValidHashHex } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';
import { isCategory, isSeriesId } from './names';

export const LIST_FILE_FORMATS = ['ndjson', 'csv', 'text'] as const;
export type ListFileFormat = (typeof LIST_FILE_FORMATS)[number];
export type ReleaseMode = 'full' | 'delta';
export type EntryOp = 'add' | 'retract';

export interface ListEntry {
  op: EntryOp;
  type: HashType;
  /** Lower-case hex. */
  hash: string;
  category?: string | undefined;
  series?: string | undefined;
}

export type LineResult = { kind: 'entry'; entry: ListEntry } | { kind: 'skip' } | { kind: 'error'; reason: string };

const SKIP: LineResult = { kind: 'skip' };
const COLUMNS = ['type', 'hash', 'category', 'series', 'op'] as const;
type Column = (typeof COLUMNS)[number];

export interface ListFileOptions {
  format: ListFileFormat;
  mode: ReleaseMode;
  /** Hash type of lines that name none (required for `text`, optional for `csv` without a type column). */
  type?: HashType | undefined;
}

/**
 * Parses list files line by line, so files of any length stream through in bounded memory.
 *
 * - `ndjson`: one object per line: `{"type":"md5","hash":"…","category":"…","series":"…","op":"add"}`
 *   (category, series, op optional).
 * - `csv`: a header line naming the columns (type, hash, category, series, op; any order), then rows.
 * - `text`: one hash per line, all of the type given in the options.
 *
 * Empty lines are skipped, and so are lines starting with `#` in csv and text files. A full release
 * is the complete content of the list, so it only adds; a delta release adds and retracts.
 */
export class ListFileParser {
  private header: Column[] | undefined;

  constructor(private readonly options: ListFileOptions) {
    if (options.format === 'text' && options.type === undefined) throw new RangeError('a text list file needs the hash type');
  }

  parse(raw: string, lineNo: number): LineResult {
    let line = lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    line = line.trim();
    if (line === '') return SKIP;
    switch (this.options.format) {
      case 'ndjson':
        return this.ndjson(line);
      case 'csv':
        return line.startsWith('#') ? SKIP : this.csv(line);
      case 'text':
        return line.startsWith('#') ? SKIP : this.entry({ hash: line });
    }
  }

  /** After the last line: a csv file without a header line is an error of the whole file. */
  get missingHeader(): boolean {
    return this.options.format === 'csv' && this.header === undefined;
  }

  private ndjson(line: string): LineResult {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      return { kind: 'error', reason: 'not valid JSON' };
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { kind: 'error', reason: 'not a JSON object' };
    const fields = obj as Record<string, unknown>;
    for (const k of Object.keys(fields)) {
      if (!(COLUMNS as readonly string[]).includes(k)) return { kind: 'error', reason: `unknown field ${JSON.stringify(k)} (allowed: ${COLUMNS.join(', ')})` };
    }
    return this.entry(fields);
  }

  private csv(line: string): LineResult {
    const cells = line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1').trim());
    if (this.header === undefined) {
      const names = cells.map((c) => c.toLowerCase());
      const unknown = names.filter((n) => !(COLUMNS as readonly string[]).includes(n));
      if (unknown.length > 0 || !names.includes('hash')) {
        return { kind: 'error', reason: `the first line must be a header naming the columns (${COLUMNS.join(', ')}; hash required)${unknown.length > 0 ? `, unknown: ${unknown.join(', ')}` : ''}` };
      }
      if (new Set(names).size !== names.length) return { kind: 'error', reason: 'a column appears twice in the header' };
      if (!names.includes('type') && this.options.type === undefined) return { kind: 'error', reason: 'no type column: give the hash type of the file' };
      this.header = names as Column[];
      return SKIP;
    }
    if (cells.length !== this.header.length) return { kind: 'error', reason: `${cells.length} columns, the header has ${this.header.length}` };
    const fields: Record<string, unknown> = {};
    this.header.forEach((col, i) => {
      const v = cells[i];
      if (v !== undefined && v !== '') fields[col] = v;
    });
    return this.entry(fields);
  }

  private entry(fields: Record<string, unknown>): LineResult {
    const type = fields.type ?? this.options.type;
    if (!isHashType(type)) return { kind: 'error', reason: type === undefined ? 'no hash type' : `unknown hash type ${JSON.stringify(type)} (md5, sha1, sha256, pdq)` };
    const hash = fields.hash;
    if (typeof hash !== 'string') return { kind: 'error', reason: 'no hash' };
    if (!isValidHashHex(type, hash)) return { kind: 'error', reason: `a ${type} hash is ${HASH_BYTES[type] * 2} hex digits${hash.length !== HASH_BYTES[type] * 2 ? `, got ${hash.length} characters` : ', got a character that is not hex'}` };
    const op = fields.op ?? 'add';
    if (op !== 'add' && op !== 'retract') return { kind: 'error', reason: `op must be add or retract, got ${JSON.stringify(op)}` };
    if (op === 'retract' && this.options.mode === 'full') return { kind: 'error', reason: 'a full release is the complete list and only adds; put retractions in a delta release' };
    const category = fields.category;
    if (category !== undefined && !isCategory(category)) return { kind: 'error', reason: 'category must be a lower-case slug (a-z, 0-9, -), at most 64 characters' };
    const series = fields.series;
    if (series !== undefined && !isSeriesId(series)) return { kind: 'error', reason: 'series must be 1-128 characters: letters, digits, . _ : -' };
    return { kind: 'entry', entry: { op, type, hash: hash.toLowerCase(), category, series } };
  }
}
