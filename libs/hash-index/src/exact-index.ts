import { BitSet, growU32 } from './bits';
import { bucketSort } from './sort';

/** Number of bucket bits for `n` sorted keys: about 8-16 keys per bucket, so a lookup is a short binary search. */
function bucketBits(n: number): number {
  const log = n > 0 ? Math.floor(Math.log2(n)) : 0;
  return Math.min(24, Math.max(4, log - 3));
}

function hashSlot(keys: Uint32Array, off: number, width: number, tbits: number): number {
  // Keys are cryptographic hashes, already uniform; mixing two words still guards against odd inputs.
  const second = width > 1 ? (keys[off + 1] as number) : 0;
  return Math.imul((keys[off] as number) ^ Math.imul(second, 0x85ebca6b), 0x9e3779b1) >>> (32 - tbits);
}

/**
 * Exact-match index over fixed-width keys (`width` 32-bit words), each entry carrying a 32-bit ref.
 *
 * Layout: a sorted packed base (keys + refs + bucket offsets by key prefix, binary search inside a
 * bucket) plus a delta area for entries added since the last compaction (an open-addressing table
 * of delta ids, all in typed arrays), and tombstone bitsets for retracted entries of either part.
 * The same key may appear several times (one entry per list holding it).
 */
export class ExactIndex {
  readonly width: number;
  // Sorted base.
  private keys: Uint32Array;
  private refs: Uint32Array;
  private n: number;
  private starts: Uint32Array;
  private shift: number;
  private dead: BitSet;
  private deadCount = 0;
  // Delta.
  private dKeys: Uint32Array;
  private dRefs: Uint32Array;
  private dCount = 0;
  private dDead: BitSet;
  private dDeadCount = 0;
  private table: Uint32Array; // delta id + 1, 0 = empty
  private tbits: number;
  /** Refs of the last lookup, valid until the next call. */
  hits: Uint32Array = new Uint32Array(16);

  constructor(width: number) {
    this.width = width;
    this.keys = new Uint32Array(0);
    this.refs = new Uint32Array(0);
    this.n = 0;
    const bits = bucketBits(0);
    this.starts = new Uint32Array((1 << bits) + 1);
    this.shift = 32 - bits;
    this.dead = new BitSet(0);
    this.dKeys = new Uint32Array(0);
    this.dRefs = new Uint32Array(0);
    this.dDead = new BitSet(0);
    this.tbits = 4;
    this.table = new Uint32Array(1 << this.tbits);
  }

  /**
   * Replaces the whole content with `n` entries taken from `keys`/`refs` (ownership passes to the
   * index: they are sorted in place, and kept if they are exactly sized). Drops the delta.
   */
  load(keys: Uint32Array, refs: Uint32Array, n: number): void {
    const w = this.width;
    const k = keys.length === n * w ? keys : keys.slice(0, n * w);
    const r = refs.length === n ? refs : refs.slice(0, n);
    const bits = bucketBits(n);
    this.starts = bucketSort(k, r, w, n, bits);
    this.shift = 32 - bits;
    this.keys = k;
    this.refs = r;
    this.n = n;
    this.dead = new BitSet(n);
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
    const limit = Math.max(65536, this.n >>> 3);
    return this.dCount > limit || this.deadCount + this.dDeadCount > Math.max(65536, this.n >>> 2);
  }

  /** Bytes held in typed arrays. */
  byteSize(): number {
    return (
      this.keys.byteLength + this.refs.byteLength + this.starts.byteLength + this.dead.words.byteLength +
      this.dKeys.byteLength + this.dRefs.byteLength + this.dDead.words.byteLength + this.table.byteLength + this.hits.byteLength
    );
  }

  private pushHit(count: number, ref: number): number {
    if (count >= this.hits.length) this.hits = growU32(this.hits, count + 1);
    this.hits[count] = ref;
    return count + 1;
  }

  /**
   * Finds live entries equal to the key at q[qo..qo+width). Refs land in `this.hits`; returns their
   * number. With `limits`, entries whose ref has a negative limit (disabled list) are skipped.
   */
  lookup(q: Uint32Array, qo: number, limits?: Int16Array): number {
    const w = this.width;
    const keys = this.keys;
    const q0 = q[qo] as number;
    let count = 0;
    if (this.n > 0) {
      const b = q0 >>> this.shift;
      let lo = this.starts[b] as number;
      const end = this.starts[b + 1] as number;
      let hi = end;
      // Lower bound of q inside the bucket.
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const p = mid * w;
        let c = 0;
        for (let i = 0; i < w; i++) {
          const x = keys[p + i] as number;
          const y = q[qo + i] as number;
          if (x !== y) {
            c = x < y ? -1 : 1;
            break;
          }
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
      for (; lo < end; lo++) {
        const p = lo * w;
        let eq = true;
        for (let i = 0; i < w; i++) {
          if (keys[p + i] !== q[qo + i]) {
            eq = false;
            break;
          }
        }
        if (!eq) break;
        if (this.deadCount > 0 && this.dead.has(lo)) continue;
        const ref = this.refs[lo] as number;
        if (limits !== undefined && (limits[ref] as number) < 0) continue;
        count = this.pushHit(count, ref);
      }
    }
    if (this.dCount > 0) count = this.lookupDelta(q, qo, limits, count);
    return count;
  }

  private lookupDelta(q: Uint32Array, qo: number, limits: Int16Array | undefined, count: number): number {
    const w = this.width;
    const mask = (1 << this.tbits) - 1;
    let s = hashSlot(q, qo, w, this.tbits);
    for (;;) {
      const slot = this.table[s] as number;
      if (slot === 0) return count;
      const id = slot - 1;
      const p = id * w;
      let eq = true;
      for (let i = 0; i < w; i++) {
        if (this.dKeys[p + i] !== q[qo + i]) {
          eq = false;
          break;
        }
      }
      if (eq && !(this.dDeadCount > 0 && this.dDead.has(id))) {
        const ref = this.dRefs[id] as number;
        if (limits === undefined || (limits[ref] as number) >= 0) count = this.pushHit(count, ref);
      }
      s = (s + 1) & mask;
    }
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
    const w = this.width;
    let removed = 0;
    if (this.n > 0) {
      const b = (q[qo] as number) >>> this.shift;
      const lo = this.starts[b] as number;
      const end = this.starts[b + 1] as number;
      for (let i = lo; i < end; i++) {
        if (this.dead.has(i) || !this.equalsAt(this.keys, i, q, qo)) continue;
        if (pred(this.refs[i] as number)) {
          this.dead.set(i);
          this.deadCount++;
          removed++;
        }
      }
    }
    if (this.dCount > 0) {
      const mask = (1 << this.tbits) - 1;
      let s = hashSlot(q, qo, w, this.tbits);
      for (;;) {
        const slot = this.table[s] as number;
        if (slot === 0) break;
        const id = slot - 1;
        if (!this.dDead.has(id) && this.equalsAt(this.dKeys, id, q, qo) && pred(this.dRefs[id] as number)) {
          this.dDead.set(id);
          this.dDeadCount++;
          removed++;
        }
        s = (s + 1) & mask;
      }
    }
    return removed;
  }

  private equalsAt(keys: Uint32Array, id: number, q: Uint32Array, qo: number): boolean {
    const w = this.width;
    const p = id * w;
    for (let i = 0; i < w; i++) if (keys[p + i] !== q[qo + i]) return false;
    return true;
  }

  /** Calls `fn` for every live entry (base then delta). `keys`/`off` point at the entry's key. */
  forEach(fn: (keys: Uint32Array, off: number, ref: number) => void): void {
    const w = this.width;
    for (let i = 0; i < this.n; i++) if (!(this.deadCount > 0 && this.dead.has(i))) fn(this.keys, i * w, this.refs[i] as number);
    for (let i = 0; i < this.dCount; i++) if (!(this.dDeadCount > 0 && this.dDead.has(i))) fn(this.dKeys, i * w, this.dRefs[i] as number);
  }

  /**
   * Rebuilds the sorted base from live entries (base and delta), dropping tombstones and entries whose
   * ref fails `keep`, and mapping refs through `mapRef` when given. O(n); holds old and new arrays at once.
   */
  compact(keep?: (ref: number) => boolean, mapRef?: (ref: number) => number): void {
    const w = this.width;
    const keepBase = (i: number): boolean => !(this.deadCount > 0 && this.dead.has(i)) && (keep === undefined || keep(this.refs[i] as number));
    const keepDelta = (i: number): boolean => !(this.dDeadCount > 0 && this.dDead.has(i)) && (keep === undefined || keep(this.dRefs[i] as number));
    let live = 0;
    for (let i = 0; i < this.n; i++) if (keepBase(i)) live++;
    for (let i = 0; i < this.dCount; i++) if (keepDelta(i)) live++;
    const keys = new Uint32Array(live * w);
    const refs = new Uint32Array(live);
    let j = 0;
    const copy = (src: Uint32Array, srcRefs: Uint32Array, i: number): void => {
      const ps = i * w;
      const pd = j * w;
      for (let k = 0; k < w; k++) keys[pd + k] = src[ps + k] as number;
      const ref = srcRefs[i] as number;
      refs[j] = mapRef === undefined ? ref : mapRef(ref);
      j++;
    };
    for (let i = 0; i < this.n; i++) if (keepBase(i)) copy(this.keys, this.refs, i);
    for (let i = 0; i < this.dCount; i++) if (keepDelta(i)) copy(this.dKeys, this.dRefs, i);
    this.load(keys, refs, live);
  }
}
