// Building the sorted / bucketed base of an index from packed entries: pure functions of typed
// arrays, so they run as well in a worker thread as in the index's own thread (base-builder.ts).
import { bucketSort } from './sort';

/** Bucket bits used while sorting: tiny buckets, so the per-bucket comparison sort is trivial. */
function sortBits(n: number): number {
  const log = n > 0 ? Math.floor(Math.log2(n)) : 0;
  return Math.min(24, Math.max(4, log - 1));
}

/**
 * Bucket bits of the lookup table: 8-16 entries per bucket, i.e. 32-64 bytes of first words, about
 * one cache line, while the offsets table stays small (0.25-0.5 B/entry) and cache-friendly.
 */
export function lookupBits(n: number): number {
  const log = n > 0 ? Math.floor(Math.log2(n)) : 0;
  return Math.min(26, Math.max(4, log - 3));
}

/** The base of an ExactIndex: first words, tails (remaining words + ref), bucket offsets. */
export interface ExactBase {
  width: number;
  n: number;
  k0: Uint32Array;
  tail: Uint32Array;
  starts: Uint32Array;
  shift: number;
}

/** Sorts `n` entries (keys of `width` words, refs) in place and lays them out as an exact base. */
export function buildExactBase(keys: Uint32Array, refs: Uint32Array, width: number, n: number): ExactBase {
  const w = width;
  const r = refs.length === n ? refs : refs.slice(0, n);
  bucketSort(keys, r, w, n, sortBits(n));
  const k0 = new Uint32Array(n);
  const tail = new Uint32Array(n * w);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    k0[i] = keys[p++] as number;
    for (let k = 1; k < w; k++) tail[q++] = keys[p++] as number;
    tail[q++] = r[i] as number;
  }
  const bits = lookupBits(n);
  const starts = new Uint32Array((1 << bits) + 1);
  const shift = 32 - bits;
  for (let i = 0; i < n; i++) {
    const b = ((k0[i] as number) >>> shift) + 1;
    starts[b] = (starts[b] as number) + 1;
  }
  for (let b = 1; b < starts.length; b++) starts[b] = (starts[b] as number) + (starts[b - 1] as number);
  return { width, n, k0, tail, starts, shift };
}

export const PDQ_WORDS = 8; // 256 bits
export const PDQ_SUBS = 16; // 16-bit substrings
export const PDQ_BUCKETS = 1 << 16;
export const PDQ_REC = 3; // ints per base record: 3 inline hash words (the entry ids are a parallel array)

/** The j-th 16-bit substring of the hash at words[off..]. */
export function pdqSub(words: Uint32Array | Int32Array, off: number, j: number): number {
  const w = words[off + (j >>> 1)] as number;
  return j & 1 ? w & 0xffff : (w >>> 16) & 0xffff;
}

/**
 * The base of a PdqIndex: hashes, refs and per substring a CSR table: bucket offsets, 12-byte
 * records (the inline words a query scans) and, in the same order, the entry ids (read only for
 * the few records that pass the inline filter, so they stay out of the scanned bytes).
 */
export interface PdqBase {
  n: number;
  hashes: Int32Array;
  refs: Uint32Array;
  offsets: Int32Array[];
  records: Int32Array[];
  ids: Int32Array[];
}

/** Builds the multi-index tables over `n` hashes (8 words each); takes ownership of exactly sized arrays. */
export function buildPdqBase(hashes: Uint32Array | Int32Array, refs: Uint32Array, n: number): PdqBase {
  const src = hashes.length === n * PDQ_WORDS ? hashes : hashes.slice(0, n * PDQ_WORDS);
  const h = src instanceof Int32Array ? src : new Int32Array(src.buffer, src.byteOffset, src.length);
  const r = refs.length === n ? refs : refs.slice(0, n);
  const offsetsAll: Int32Array[] = [];
  const recordsAll: Int32Array[] = [];
  const idsAll: Int32Array[] = [];
  if (n > 0) {
    const cursor = new Int32Array(PDQ_BUCKETS);
    for (let j = 0; j < PDQ_SUBS; j++) {
      const offsets = new Int32Array(PDQ_BUCKETS + 1);
      const records = new Int32Array(n * PDQ_REC);
      const ids = new Int32Array(n);
      for (let id = 0; id < n; id++) {
        const k = pdqSub(h, id * PDQ_WORDS, j) + 1;
        offsets[k] = (offsets[k] as number) + 1;
      }
      for (let b = 0; b < PDQ_BUCKETS; b++) offsets[b + 1] = (offsets[b + 1] as number) + (offsets[b] as number);
      cursor.set(offsets.subarray(0, PDQ_BUCKETS));
      const w = j >>> 1;
      const wa = (w + 1) & 7;
      const wb = (w + 2) & 7;
      const wc = (w + 3) & 7;
      for (let id = 0; id < n; id++) {
        const o = id * PDQ_WORDS;
        const b = pdqSub(h, o, j);
        const c = cursor[b] as number;
        cursor[b] = c + 1;
        const p = c * PDQ_REC;
        ids[c] = id;
        records[p] = h[o + wa] as number;
        records[p + 1] = h[o + wb] as number;
        records[p + 2] = h[o + wc] as number;
      }
      offsetsAll.push(offsets);
      recordsAll.push(records);
      idsAll.push(ids);
    }
  }
  return { n, hashes: h, refs: r, offsets: offsetsAll, records: recordsAll, ids: idsAll };
}
