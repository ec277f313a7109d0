import { buildExactBase, lookupBits } from './base-build';
import type { ExactBase } from './base-build';
import { BitSet, growU32 } from './bits';

function hashSlot(keys: Uint32Array, off: number, width: number, tbits: number): number {
  // Keys are cryptographic hashes, already uniform; mixing two words still guards against odd inputs.
  const second = width > 1 ? (keys[off + 1] as number) : 0;
  return Math.imul((keys[off] as number) ^ Math.imul(second, 0x85ebca6b), 0x9e3779b1) >>> (32 - tbits);
}

/** Queries per group of `lookupMany`: enough independent cache misses in flight to fill the core's miss buffers. */
const GROUP = 16;
/** Entries copied between two pauses of an asynchronous snapshot (a few milliseconds of work). */
const SLICE_MASK = (1 << 16) - 1;

/**
 * Exact-match index over fixed-width keys (`width` 32-bit words), each entry carrying a 32-bit ref.
 *
 * Base: entries sorted by key, stored as the first words (`k0`, dense: a lookup of an absent key
 * reads one bucket offset and about one cache line of `k0`) and a tail per entry (`tail`, read only
 * when a first word matches: the remaining words and the ref side by side, so a present key costs
 * one more cache line, not two), plus bucket offsets by the top bits of the first word.
 * Delta: entries added since the last compaction, in an open-addressing table of typed arrays.
 * Tombstone bitsets mark retracted entries of either part. A key may occur several times (one
 * entry per list holding it).
 */
export class ExactIndex {
  readonly width: number;
  // Sorted base.
  private k0: Uint32Array = new Uint32Array(0);
  /** Per entry `width` words: the key's words after the first, then the ref. */
  private tail: Uint32Array = new Uint32Array(0);
  private n = 0;
  private starts: Uint32Array;
  private shift: number;
  private dead = new BitSet(0);
  private deadCount = 0;
  // Delta.
  private dKeys: Uint32Array = new Uint32Array(0);
  private dRefs: Uint32Array = new Uint32Array(0);
  private dCount = 0;
  private dDead = new BitSet(0);
  private dDeadCount = 0;
  private table: Uint32Array; // delta id + 1, 0 = empty
  private tbits = 4;
  private readonly scratch: Uint32Array;
  /** Refs of the last lookup, valid until the next call. */
  hits: Uint32Array = new Uint32Array(16);
  // Per-group state of lookupMany.
  private readonly gPos = new Int32Array(GROUP);
  private readonly gEnd = new Int32Array(GROUP);
  /** Sink for the prefetching reads of lookupMany (kept, so the compiler cannot drop them). */
  private sink = 0;

  constructor(width: number) {
    this.width = width;
    const bits = lookupBits(0);
    this.starts = new Uint32Array((1 << bits) + 1);
    this.shift = 32 - bits;
    this.table = new Uint32Array(1 << this.tbits);
    this.scratch = new Uint32Array(width);
  }

  /**
   * Replaces the whole content with `n` entries from `keys`/`refs` (ownership passes to the index:
   * both are sorted in place; `keys` is released once split). Drops the delta.
   */
  load(keys: Uint32Array, refs: Uint32Array, n: number): void {
    this.install(buildExactBase(keys, refs, this.width, n));
  }

  /** Swaps in a base built by `buildExactBase` (here or in a worker thread); drops the delta and tombstones. */
  install(base: ExactBase): void {
    if (base.width !== this.width) throw new RangeError(`base of width ${base.width} for an index of width ${this.width}`);
    this.k0 = base.k0;
    this.tail = base.tail;
    this.n = base.n;
    this.starts = base.starts;
    this.shift = base.shift;
    this.dead = new BitSet(base.n);
    this.deadCount = 0;
    this.dKeys = new Uint32Array(0);
    this.dRefs = new Uint32Array(0);
    this.dCount = 0;
    this.dDead = new BitSet(0);
    this.dDeadCount = 0;
    this.tbits = 4;
    this.table = new Uint32Array(1 << this.tbits);
  }

  /** Live entries (base and delta, minus tombstones). */
  get size(): number {
    return this.n - this.deadCount + this.dCount - this.dDeadCount;
  }

  get deltaSize(): number {
    return this.dCount;
  }

  get tombstones(): number {
    return this.deadCount + this.dDeadCount;
  }

  /** Whether a compaction would pay off: the delta or the tombstones have grown relative to the base. */
  needsCompaction(): boolean {
    return this.dCount > Math.max(65536, this.n >>> 3) || this.deadCount + this.dDeadCount > Math.max(65536, this.n >>> 2);
  }

  /** Bytes held in typed arrays. */
  byteSize(): number {
    return (
      this.k0.byteLength + this.tail.byteLength + this.starts.byteLength + this.dead.words.byteLength +
      this.dKeys.byteLength + this.dRefs.byteLength + this.dDead.words.byteLength + this.table.byteLength + this.hits.byteLength
    );
  }

  private pushHit(count: number, ref: number): number {
    if (count >= this.hits.length) this.hits = growU32(this.hits, count + 1);
    this.hits[count] = ref;
    return count + 1;
  }

  /** First base position whose first word is >= q0 (within q0's bucket), and the bucket end. */
  private seek(q0: number): number {
    const b = q0 >>> this.shift;
    let lo = this.starts[b] as number;
    let hi = this.starts[b + 1] as number;
    const k0 = this.k0;
    if (hi - lo > 16) {
      // Only skewed data makes big buckets.
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((k0[mid] as number) < q0) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
    while (lo < hi && (k0[lo] as number) < q0) lo++;
    return lo;
  }

  /** Compares the words after the first of base entry `i` with q; <0, 0, >0. */
  private cmpRest(i: number, q: Uint32Array, qo: number): number {
    const w1 = this.width - 1;
    const p = i * this.width;
    const tail = this.tail;
    for (let k = 0; k < w1; k++) {
      const x = tail[p + k] as number;
      const y = q[qo + 1 + k] as number;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  /**
   * Finds live entries equal to the key at q[qo..qo+width). Refs land in `this.hits`; returns their
   * number. With `limits`, entries whose ref has a negative limit (disabled list) are skipped.
   */
  lookup(q: Uint32Array, qo: number, limits?: Int16Array): number {
    let count = 0;
    if (this.n > 0) {
      const q0 = q[qo] as number;
      const k0 = this.k0;
      const n = this.n;
      for (let i = this.seek(q0); i < n && k0[i] === q0; i++) {
        const c = this.cmpRest(i, q, qo);
        if (c < 0) continue;
        if (c > 0) break;
        if (this.deadCount > 0 && this.dead.has(i)) continue;
        const ref = this.refOf(i);
        if (limits !== undefined && (limits[ref] as number) < 0) continue;
        count = this.pushHit(count, ref);
      }
    }
    if (this.dCount > 0) count = this.lookupDelta(q, qo, limits, count);
    return count;
  }

  private refOf(i: number): number {
    return this.tail[i * this.width + this.width - 1] as number;
  }

  /**
   * Batch form of `lookup` for yes/no answers: for each j < count, found[j] = 1 when a live entry
   * (of an enabled list, with `limits`) equals the key at q[offs[j]..], else 0; returns how many.
   *
   * The work is the same as `count` lookups, but done in groups of 16 queries and in stages (bucket
   * ranges, then the scan of first words, then the tails of candidates), so the cache misses of the
   * 16 queries of one stage are independent and overlap instead of being paid one after the other:
   * a lookup in a big index is mostly waiting for memory.
   */
  lookupMany(q: Uint32Array, offs: Int32Array, count: number, found: Uint8Array, limits?: Int16Array): number {
    const n = this.n;
    const w = this.width;
    const k0 = this.k0;
    const tail = this.tail;
    const starts = this.starts;
    const shift = this.shift;
    const pos = this.gPos;
    const end = this.gEnd;
    let sink = 0;
    let total = 0;
    for (let g = 0; g < count; g += GROUP) {
      const m = Math.min(GROUP, count - g);
      if (n > 0) {
        // 1. Bucket range of every query, and a first touch of the bucket's first words.
        for (let j = 0; j < m; j++) {
          const b = (q[offs[g + j] as number] as number) >>> shift;
          const lo = starts[b] as number;
          pos[j] = lo;
          end[j] = starts[b + 1] as number;
          sink ^= k0[lo < n ? lo : 0] as number;
        }
        // 2. The first entry whose first word is >= the query's; a candidate when equal (touch its tail).
        for (let j = 0; j < m; j++) {
          const q0 = q[offs[g + j] as number] as number;
          let lo = pos[j] as number;
          let hi = end[j] as number;
          if (hi - lo > 16) {
            // Only skewed data makes big buckets.
            while (lo < hi) {
              const mid = (lo + hi) >>> 1;
              if ((k0[mid] as number) < q0) lo = mid + 1;
              else hi = mid;
            }
            hi = end[j] as number;
          } else {
            while (lo < hi && (k0[lo] as number) < q0) lo++;
          }
          if (lo < hi && k0[lo] === q0) {
            pos[j] = lo;
            sink ^= tail[lo * w] as number;
          } else {
            pos[j] = -1;
          }
        }
      }
      // 3. Full comparison of the candidates (duplicates, tombstones and disabled lists as in `lookup`).
      for (let j = 0; j < m; j++) {
        const qo = offs[g + j] as number;
        let hit = 0;
        const start = n > 0 ? (pos[j] as number) : -1;
        if (start >= 0) {
          const q0 = q[qo] as number;
          for (let i = start; i < n && k0[i] === q0; i++) {
            const c = this.cmpRest(i, q, qo);
            if (c < 0) continue;
            if (c > 0) break;
            if (this.deadCount > 0 && this.dead.has(i)) continue;
            const ref = tail[i * w + w - 1] as number;
            if (limits !== undefined && (limits[ref] as number) < 0) continue;
            hit = 1;
            break;
          }
        }
        if (hit === 0 && this.dCount > 0 && this.lookupDelta(q, qo, limits, 0) > 0) hit = 1;
        found[g + j] = hit;
        total += hit;
      }
    }
    this.sink = sink;
    return total;
  }

  private lookupDelta(q: Uint32Array, qo: number, limits: Int16Array | undefined, count: number): number {
    const w = this.width;
    const mask = (1 << this.tbits) - 1;
    let s = hashSlot(q, qo, w, this.tbits);
    for (;;) {
      const slot = this.table[s] as number;
      if (slot === 0) return count;
      const id = slot - 1;
      if (this.deltaEquals(id, q, qo) && !(this.dDeadCount > 0 && this.dDead.has(id))) {
        const ref = this.dRefs[id] as number;
        if (limits === undefined || (limits[ref] as number) >= 0) count = this.pushHit(count, ref);
      }
      s = (s + 1) & mask;
    }
  }

  private deltaEquals(id: number, q: Uint32Array, qo: number): boolean {
    const w = this.width;
    const p = id * w;
    for (let i = 0; i < w; i++) if (this.dKeys[p + i] !== q[qo + i]) return false;
    return true;
  }

  /** Adds an entry to the delta; it matches from now on. Does not check for duplicates (the caller does). */
  add(q: Uint32Array, qo: number, ref: number): void {
    const w = this.width;
    const id = this.dCount;
    this.dKeys = growU32(this.dKeys, (id + 1) * w);
    this.dRefs = growU32(this.dRefs, id + 1);
    for (let i = 0; i < w; i++) this.dKeys[id * w + i] = q[qo + i] as number;
    this.dRefs[id] = ref;
    this.dCount = id + 1;
    if (this.dCount * 2 > this.table.length) this.rehash(this.tbits + 1);
    else this.insertSlot(id);
  }

  private insertSlot(id: number): void {
    const mask = (1 << this.tbits) - 1;
    let s = hashSlot(this.dKeys, id * this.width, this.width, this.tbits);
    while (this.table[s] !== 0) s = (s + 1) & mask;
    this.table[s] = id + 1;
  }

  private rehash(tbits: number): void {
    this.tbits = tbits;
    this.table = new Uint32Array(1 << tbits);
    for (let id = 0; id < this.dCount; id++) this.insertSlot(id);
  }

  /**
   * Tombstones every live entry equal to the key whose ref satisfies `pred`; returns how many.
   * A retracted entry stops matching immediately.
   */
  retract(q: Uint32Array, qo: number, pred: (ref: number) => boolean): number {
    let removed = 0;
    if (this.n > 0) {
      const q0 = q[qo] as number;
      for (let i = this.seek(q0); i < this.n && this.k0[i] === q0; i++) {
        if (this.dead.has(i) || this.cmpRest(i, q, qo) !== 0) continue;
        if (pred(this.refOf(i))) {
          this.dead.set(i);
          this.deadCount++;
          removed++;
        }
      }
    }
    if (this.dCount > 0) {
      const mask = (1 << this.tbits) - 1;
      let s = hashSlot(q, qo, this.width, this.tbits);
      for (;;) {
        const slot = this.table[s] as number;
        if (slot === 0) break;
        const id = slot - 1;
        if (!this.dDead.has(id) && this.deltaEquals(id, q, qo) && pred(this.dRefs[id] as number)) {
          this.dDead.set(id);
          this.dDeadCount++;
          removed++;
        }
        s = (s + 1) & mask;
      }
    }
    return removed;
  }

  /**
   * Calls `fn` for every live entry (base then delta). `keys`/`off` point at the entry's key and are
   * only valid during the call.
   */
  forEach(fn: (keys: Uint32Array, off: number, ref: number) => void): void {
    const w = this.width;
    const key = this.scratch;
    for (let i = 0; i < this.n; i++) {
      if (this.deadCount > 0 && this.dead.has(i)) continue;
      key[0] = this.k0[i] as number;
      for (let k = 1; k < w; k++) key[k] = this.tail[i * w + k - 1] as number;
      fn(key, 0, this.refOf(i));
    }
    for (let i = 0; i < this.dCount; i++) if (!(this.dDeadCount > 0 && this.dDead.has(i))) fn(this.dKeys, i * w, this.dRefs[i] as number);
  }

  /**
   * Rebuilds the sorted base from live entries (base and delta), dropping tombstones and entries whose
   * ref fails `keep`, mapping refs through `mapRef` when given. O(n); holds old and new arrays at once.
   */
  compact(keep?: (ref: number) => boolean, mapRef?: (ref: number) => number): void {
    const { keys, refs, n } = this.snapshot(keep, mapRef);
    this.load(keys, refs, n);
  }

  /** The live entries (minus refs failing `keep`) packed into fresh arrays: the input of a rebuild. */
  snapshot(keep?: (ref: number) => boolean, mapRef?: (ref: number) => number): { keys: Uint32Array; refs: Uint32Array; n: number } {
    const w = this.width;
    let live = 0;
    this.forEach((_k, _o, ref) => {
      if (keep === undefined || keep(ref)) live++;
    });
    const keys = new Uint32Array(live * w);
    const refs = new Uint32Array(live);
    let j = 0;
    this.forEach((src, off, ref) => {
      if (keep !== undefined && !keep(ref)) return;
      for (let k = 0; k < w; k++) keys[j * w + k] = src[off + k] as number;
      refs[j] = mapRef === undefined ? ref : mapRef(ref);
      j++;
    });
    return { keys, refs, n: live };
  }

  /**
   * `snapshot` for a rebuild that must not stop the event loop: after `prefix.n` entries copied from
   * `prefix` (new entries of a bulk load), the live entries are copied in slices, awaiting `pause`
   * between them. The caller guarantees that no entry changes until it resolves (HashIndex marks
   * itself busy). The arrays may be longer than `n` (room for entries that turned out dead).
   */
  async snapshotAsync(keep: ((ref: number) => boolean) | undefined, pause: () => Promise<void>, prefix?: { keys: Uint32Array; refs: Uint32Array; n: number }): Promise<{ keys: Uint32Array; refs: Uint32Array; n: number }> {
    const w = this.width;
    const pn = prefix?.n ?? 0;
    const cap = pn + this.n + this.dCount;
    const keys = new Uint32Array(cap * w);
    const refs = new Uint32Array(cap);
    if (prefix !== undefined) {
      keys.set(prefix.keys.subarray(0, pn * w));
      refs.set(prefix.refs.subarray(0, pn));
    }
    let j = pn;
    const { k0, tail, n, dead, deadCount } = this;
    for (let i = 0; i < n; i++) {
      if ((i & SLICE_MASK) === SLICE_MASK) await pause();
      if (deadCount > 0 && dead.has(i)) continue;
      const t = i * w;
      const ref = tail[t + w - 1] as number;
      if (keep !== undefined && !keep(ref)) continue;
      const o = j * w;
      keys[o] = k0[i] as number;
      for (let k = 1; k < w; k++) keys[o + k] = tail[t + k - 1] as number;
      refs[j++] = ref;
    }
    const { dKeys, dRefs, dCount, dDead, dDeadCount } = this;
    for (let i = 0; i < dCount; i++) {
      if ((i & SLICE_MASK) === SLICE_MASK) await pause();
      if (dDeadCount > 0 && dDead.has(i)) continue;
      const ref = dRefs[i] as number;
      if (keep !== undefined && !keep(ref)) continue;
      for (let k = 0; k < w; k++) keys[j * w + k] = dKeys[i * w + k] as number;
      refs[j++] = ref;
    }
    return { keys, refs, n: j };
  }
}
