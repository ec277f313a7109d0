import { HASH_BYTES, HASH_TYPE_CODE, HASH_WORDS, hashTypeFromCode } from './hash-types';
import type { HashType } from './hash-types';
import { bytesToWords, parseHash, wordsToBytes } from './hex';

// Binary chunk: many hashes of one type and one operation in a compact, versioned layout.
//   magic "HCC1" | u8 type code | u8 op | u8 flags | u8 0 | u32be count | count * hash bytes
//   if flags & HAS_META: u32be string count | strings (varint byte length + UTF-8)
//                        | count * (varint category index + 1, varint series index + 1), 0 = none
// Hash bytes are raw (random, incompressible); metadata is rare, so it costs nothing when absent.

const MAGIC = 0x48434331; // "HCC1"
const HEADER = 12;
const HAS_META = 1;

export const CHUNK_OPS = { add: 1, retract: 2 } as const;
export type ChunkOp = keyof typeof CHUNK_OPS;

export interface HashChunk {
  type: HashType;
  op: ChunkOp;
  count: number;
  /** Packed hash bytes, `count * HASH_BYTES[type]`, big-endian as in hex. */
  hashes: Uint8Array;
  /** Per-entry category, when any entry has one. */
  categories?: (string | undefined)[] | undefined;
  /** Per-entry series id, when any entry has one. */
  series?: (string | undefined)[] | undefined;
}

export class ChunkCodecError extends Error {
  readonly code = 'HC_CHUNK_CORRUPT';
  constructor(message: string) {
    super(message);
    this.name = 'ChunkCodecError';
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    buf[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[p++] = v;
  return p;
}

/** Serialises a chunk. */
export function encodeChunk(chunk: HashChunk): Uint8Array {
  const size = HASH_BYTES[chunk.type];
  if (chunk.hashes.length !== chunk.count * size) throw new RangeError(`chunk of ${chunk.count} ${chunk.type} hashes needs ${chunk.count * size} bytes, got ${chunk.hashes.length}`);
  const hasMeta = (chunk.categories?.some((c) => c !== undefined) ?? false) || (chunk.series?.some((c) => c !== undefined) ?? false);
  const enc = new TextEncoder();
  let strings: Uint8Array[] = [];
  let catIdx: Uint32Array | undefined;
  let serIdx: Uint32Array | undefined;
  let metaBytes = 0;
  if (hasMeta) {
    const table = new Map<string, number>();
    const intern = (s: string | undefined): number => {
      if (s === undefined) return 0;
      let i = table.get(s);
      if (i === undefined) {
        i = table.size;
        table.set(s, i);
      }
      return i + 1;
    };
    catIdx = new Uint32Array(chunk.count);
    serIdx = new Uint32Array(chunk.count);
    for (let i = 0; i < chunk.count; i++) {
      catIdx[i] = intern(chunk.categories?.[i]);
      serIdx[i] = intern(chunk.series?.[i]);
      metaBytes += varintSize(catIdx[i] as number) + varintSize(serIdx[i] as number);
    }
    strings = [...table.keys()].map((s) => enc.encode(s));
    metaBytes += 4;
    for (const s of strings) metaBytes += varintSize(s.length) + s.length;
  }
  const out = new Uint8Array(HEADER + chunk.hashes.length + metaBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC);
  out[4] = HASH_TYPE_CODE[chunk.type];
  out[5] = CHUNK_OPS[chunk.op];
  out[6] = hasMeta ? HAS_META : 0;
  view.setUint32(8, chunk.count);
  out.set(chunk.hashes, HEADER);
  if (hasMeta && catIdx !== undefined && serIdx !== undefined) {
    let p = HEADER + chunk.hashes.length;
    view.setUint32(p, strings.length);
    p += 4;
    for (const s of strings) {
      p = writeVarint(out, p, s.length);
      out.set(s, p);
      p += s.length;
    }
    for (let i = 0; i < chunk.count; i++) {
      p = writeVarint(out, p, catIdx[i] as number);
      p = writeVarint(out, p, serIdx[i] as number);
    }
  }
  return out;
}

/** Parses and validates a chunk; throws ChunkCodecError on anything malformed. */
export function decodeChunk(buf: Uint8Array): HashChunk {
  if (buf.length < HEADER) throw new ChunkCodecError('chunk shorter than its header');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(0) !== MAGIC) throw new ChunkCodecError('not a hash chunk (bad magic)');
  const type = hashTypeFromCode(buf[4] as number);
  if (type === undefined) throw new ChunkCodecError(`unknown hash type code ${buf[4]}`);
  const op = buf[5] === CHUNK_OPS.add ? 'add' : buf[5] === CHUNK_OPS.retract ? 'retract' : undefined;
  if (op === undefined) throw new ChunkCodecError(`unknown chunk operation ${buf[5]}`);
  const flags = buf[6] as number;
  if ((flags & ~HAS_META) !== 0 || buf[7] !== 0) throw new ChunkCodecError('unknown chunk flags');
  const count = view.getUint32(8);
  const hashLen = count * HASH_BYTES[type];
  if (buf.length < HEADER + hashLen) throw new ChunkCodecError('chunk truncated in its hashes');
  const hashes = buf.subarray(HEADER, HEADER + hashLen);
  const chunk: HashChunk = { type, op, count, hashes };
  let p = HEADER + hashLen;
  if (flags & HAS_META) {
    const readVarint = (): number => {
      let v = 0;
      let mul = 1;
      for (let i = 0; i < 6; i++) {
        if (p >= buf.length) throw new ChunkCodecError('chunk truncated in its metadata');
        const b = buf[p++] as number;
        v += (b & 0x7f) * mul;
        if (b < 0x80) return v;
        mul *= 128;
      }
      throw new ChunkCodecError('varint too long');
    };
    if (p + 4 > buf.length) throw new ChunkCodecError('chunk truncated in its metadata');
    const n = view.getUint32(p);
    p += 4;
    const dec = new TextDecoder('utf-8', { fatal: true });
    const strings: string[] = [];
    for (let i = 0; i < n; i++) {
      const len = readVarint();
      if (p + len > buf.length) throw new ChunkCodecError('chunk truncated in its string table');
      try {
        strings.push(dec.decode(buf.subarray(p, p + len)));
      } catch {
        throw new ChunkCodecError('invalid UTF-8 in chunk string table');
      }
      p += len;
    }
    const pick = (k: number): string | undefined => {
      if (k === 0) return undefined;
      const s = strings[k - 1];
      if (s === undefined) throw new ChunkCodecError('string index out of range');
      return s;
    };
    const categories: (string | undefined)[] = new Array(count);
    const series: (string | undefined)[] = new Array(count);
    for (let i = 0; i < count; i++) {
      categories[i] = pick(readVarint());
      series[i] = pick(readVarint());
    }
    chunk.categories = categories;
    chunk.series = series;
  }
  if (p !== buf.length) throw new ChunkCodecError('trailing bytes after chunk');
  return chunk;
}

/** Reads the hash at `i` of a chunk into `out` as words (for the index). */
export function chunkHashWords(chunk: HashChunk, i: number, out: Uint32Array, outOffset = 0): void {
  const size = HASH_BYTES[chunk.type];
  bytesToWords(chunk.hashes.subarray(i * size, (i + 1) * size), out, outOffset);
}

/**
 * Collects validated entries of one type and operation and cuts them into chunks of at most
 * `chunkSize` entries. Memory stays at one chunk, whatever the length of the input.
 */
export class ChunkBuilder {
  private hashes: Uint8Array;
  private categories: (string | undefined)[] = [];
  private series: (string | undefined)[] = [];
  private anyMeta = false;
  private n = 0;
  private readonly words = new Uint32Array(8);

  constructor(
    readonly type: HashType,
    readonly op: ChunkOp,
    readonly chunkSize = 16384,
  ) {
    this.hashes = new Uint8Array(chunkSize * HASH_BYTES[type]);
  }

  get size(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n >= this.chunkSize;
  }

  /** Adds a hash in hex; false (nothing added) when the hex is not a valid hash of the type. */
  addHex(hex: string, category?: string, series?: string): boolean {
    if (!parseHash(this.type, hex, this.words)) return false;
    this.addWords(this.words, 0, category, series);
    return true;
  }

  addWords(words: Uint32Array, off: number, category?: string, series?: string): void {
    if (this.full) throw new RangeError('chunk full: take() it first');
    wordsToBytes(words, off, HASH_WORDS[this.type], this.hashes, this.n * HASH_BYTES[this.type]);
    this.categories.push(category);
    this.series.push(series);
    if (category !== undefined || series !== undefined) this.anyMeta = true;
    this.n++;
  }

  /** Returns the collected entries as a chunk and starts a new one. */
  take(): HashChunk {
    const chunk: HashChunk = {
      type: this.type,
      op: this.op,
      count: this.n,
      hashes: this.hashes.slice(0, this.n * HASH_BYTES[this.type]),
      categories: this.anyMeta ? this.categories : undefined,
      series: this.anyMeta ? this.series : undefined,
    };
    this.n = 0;
    this.categories = [];
    this.series = [];
    this.anyMeta = false;
    return chunk;
  }
}
