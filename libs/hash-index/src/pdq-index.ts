import { BitSet, growI32, growU32 } from './bits';
import { MAX_PDQ_THRESHOLD } from './hash-types';
import { buildPdqBase, PDQ_BUCKETS as BUCKETS, PDQ_REC as REC, PDQ_SUBS as SUBS, PDQ_WORDS as WORDS, pdqSub as sub } from './base-build';
import type { PdqBase } from './base-build';

const MAX_RADIUS = 3; // enough for thresholds up to 63, see RADII

/** All 16-bit masks with popcount <= r, for r = 0..MAX_RADIUS. */
const MASKS: Uint16Array[] = [];
{
  const byPop: number[][] = [[], [], [], []];
  for (let m = 0; m < BUCKETS; m++) {
    let c = 0;
    for (let x = m; x; x &= x - 1) c++;
    if (c <= MAX_RADIUS) byPop[c]?.push(m);
  }
  let acc: number[] = [];
  for (let r = 0; r <= MAX_RADIUS; r++) {
    acc = acc.concat(byPop[r] ?? []);
    MASKS.push(Uint16Array.from(acc));
  }
}

const MAX_MASKS = (MASKS[MAX_RADIUS] as Uint16Array).length;

/**
 * Probe radius per substring for each threshold t (row t, 16 columns; -1 = substring not probed).
 * Generalised pigeonhole: if the radii satisfy sum(r_j + 1) >= t + 1, any hash within distance t
 * differs from the query in at most r_j bits of some substring j. t = 31 gives r = 1 everywhere,
 * t = 63 gives r = 3 everywhere. Spreading t + 1 evenly minimises the number of probes.
 */
const RADII = new Int8Array((MAX_PDQ_THRESHOLD + 1) * SUBS);
for (let t = 0; t <= MAX_PDQ_THRESHOLD; t++) {
  const k = t + 1;
  for (let j = 0; j < SUBS; j++) RADII[t * SUBS + j] = (k >>> 4) + (j < (k & 15) ? 1 : 0) - 1;
}

function pc(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Popcount of three words at once: nibble counts are summed before the final horizontal add. */
function pc3(a: number, b: number, c: number): number {
  a = a - ((a >>> 1) & 0x55555555);
  a = (a & 0x33333333) + ((a >>> 2) & 0x33333333);
  b = b - ((b >>> 1) & 0x55555555);
  b = (b & 0x33333333) + ((b >>> 2) & 0x33333333);
  c = c - ((c >>> 1) & 0x55555555);
  c = (c & 0x33333333) + ((c >>> 2) & 0x33333333);
  let s = a + b + c; // every nibble <= 12
  s = (s & 0x0f0f0f0f) + ((s >>> 4) & 0x0f0f0f0f); // every byte <= 24
  return Math.imul(s, 0x01010101) >>> 24;
}

type Words = Uint32Array | Int32Array;

/** Hamming distance between two 256-bit hashes stored as 8 words each. */
export function hamming256(a: Words, ao: number, b: Words, bo: number): number {
  let d = 0;
  for (let i = 0; i < WORDS; i++) d += pc((a[ao + i] as number) ^ (b[bo + i] as number));
  return d;
}

/**
 * Exact PDQ (256-bit) near-neighbour index by multi-index hashing: 16 tables keyed by the 16-bit
 * substrings, probed within the pigeonhole radius, candidates verified by full Hamming distance.
 * Every entry within the threshold is returned (recall 1.0); each exactly once.
 *
 * Base: packed hashes, refs, and per substring a CSR table: bucket offsets plus 12-byte records
 * [3 more words of the hash] and, in a parallel array, their entry ids. Verifying a candidate first
 * reads the inline words, which sit next to each other in the bucket, so a query streams through
 * its buckets instead of paying a random memory access per candidate (which capped a plain
 * id-posting layout at ~1.5 k queries/s). 96 inline bits reject a random candidate with
 * probability ~1 - 3e-4 at threshold 31; only survivors read their id and the full hash. A query
 * is bound by memory (~5,800 candidates, ~70 KB of records at t = 31 over 1.4 M hashes), so the
 * record holds no more than the filter needs: the ids moved out of it (16 -> 12 bytes) for ~10 %.
 * Delta (entries added since the last compaction): per substring a chained table (bucket heads +
 * next pointers), so additions are O(16) and match at once. Tombstone bitsets for retractions.
 */
export class PdqIndex {
  private hashes: Int32Array = new Int32Array(0);
  private refs: Uint32Array = new Uint32Array(0);
  private n = 0;
  // Per substring: CSR bucket offsets (BUCKETS + 1), records (REC ints per entry) and their entry
  // ids. Empty when n = 0.
  private offsets: Int32Array[] = [];
  private records: Int32Array[] = [];
  private ids: Int32Array[] = [];
  private dead = new BitSet(0);
  private deadCount = 0;

  private dHashes: Int32Array = new Int32Array(0);
  private dRefs: Uint32Array = new Uint32Array(0);
  private dCount = 0;
  private dHeads: Int32Array | null = null;
  private dNext: Int32Array = new Int32Array(0);
  private dDead = new BitSet(0);
  private dDeadCount = 0;

  // Scratch bucket ranges of one substring (up to the number of radius-3 masks).
  private readonly starts = new Int32Array(MAX_MASKS);
  private readonly ends = new Int32Array(MAX_MASKS);
  /** Keeps the early loads of `search` observable, so the compiler cannot drop them. */
  sink = 0;

  /** Refs and distances of the last search, valid until the next call. */
  hits: Uint32Array = new Uint32Array(16);
  dists: Uint16Array = new Uint16Array(16);

  /** Replaces the content with `n` hashes (8 words each) and refs; takes ownership of exactly sized arrays. */
  load(hashes: Uint32Array | Int32Array, refs: Uint32Array, n: number): void {
    this.install(buildPdqBase(hashes, refs, n));
  }

  /** Swaps in a base built by `buildPdqBase` (here or in a worker thread); drops the delta and tombstones. */
  install(base: PdqBase): void {
    this.hashes = base.hashes;
    this.refs = base.refs;
    this.n = base.n;
    this.offsets = base.offsets;
    this.records = base.records;
    this.ids = base.ids;
    this.dead = new BitSet(base.n);
    this.deadCount = 0;
    this.dHashes = new Int32Array(0);
    this.dRefs = new Uint32Array(0);
    this.dCount = 0;
    this.dHeads = null;
    this.dNext = new Int32Array(0);
    this.dDead = new BitSet(0);
    this.dDeadCount = 0;
  }

  get size(): number {
    return this.n - this.deadCount + this.dCount - this.dDeadCount;
  }

  get deltaSize(): number {
    return this.dCount;
  }

  get tombstones(): number {
    return this.deadCount + this.dDeadCount;
  }

  needsCompaction(): boolean {
    return this.dCount > Math.max(65536, this.n >>> 3) || this.deadCount + this.dDeadCount > Math.max(65536, this.n >>> 2);
  }

  byteSize(): number {
    return (
      this.hashes.byteLength + this.refs.byteLength +
      this.offsets.reduce((a, o) => a + o.byteLength, 0) + this.records.reduce((a, r) => a + r.byteLength, 0) + this.ids.reduce((a, r) => a + r.byteLength, 0) +
      this.dead.words.byteLength + this.dHashes.byteLength + this.dRefs.byteLength + (this.dHeads?.byteLength ?? 0) +
      this.dNext.byteLength + this.dDead.words.byteLength + this.hits.byteLength + this.dists.byteLength
    );
  }

  private push(count: number, ref: number, d: number): number {
    if (count >= this.hits.length) {
      this.hits = growU32(this.hits, count + 1);
      const dists = new Uint16Array(this.hits.length);
      dists.set(this.dists);
      this.dists = dists;
    }
    this.hits[count] = ref;
    this.dists[count] = d;
    return count + 1;
  }

  /** True when no substring before `j` lies within its radius, i.e. the entry is reported at `j` first. */
  private static firstAt(q: Words, qo: number, h: Words, ho: number, j: number, rowOff: number): boolean {
    for (let i = 0; i < j; i++) {
      const r = RADII[rowOff + i] as number;
      if (r < 0) continue;
      if (pc(sub(q, qo, i) ^ sub(h, ho, i)) <= r) return false;
    }
    return true;
  }

  /**
   * Finds every live entry within Hamming distance `maxT` (0..63) of the query at q[qo..qo+8) whose
   * ref's limit (its list's threshold; negative = disabled) is >= the distance. Results land in
   * `hits`/`dists`; returns their number.
   */
  search(q: Words, qo: number, maxT: number, limits: Int16Array): number {
    if (!(maxT >= 0)) return 0;
    if (maxT > MAX_PDQ_THRESHOLD) throw new RangeError(`PDQ threshold ${maxT} above ${MAX_PDQ_THRESHOLD}`);
    const rowOff = maxT * SUBS;
    let count = 0;
    if (this.n > 0) {
      const H = this.hashes;
      let touch = 0;
      for (let j = 0; j < SUBS; j++) {
        const r = RADII[rowOff + j] as number;
        if (r < 0) continue;
        const masks = MASKS[r] as Uint16Array;
        const v = sub(q, qo, j);
        const offsets = this.offsets[j] as Int32Array;
        const rec = this.records[j] as Int32Array;
        const ids = this.ids[j] as Int32Array;
        const w = j >>> 1;
        const qa = (q[qo + ((w + 1) & 7)] as number) | 0;
        const qb = (q[qo + ((w + 2) & 7)] as number) | 0;
        const qc = (q[qo + ((w + 3) & 7)] as number) | 0;
        // Bucket ranges first, then the scan: reading the start of the bucket after next early
        // (a load the CPU issues ahead) overlaps its cache miss with the current bucket's work.
        const nm = masks.length;
        const st = this.starts;
        const en = this.ends;
        for (let mi = 0; mi < nm; mi++) {
          const b = v ^ (masks[mi] as number);
          st[mi] = (offsets[b] as number) * REC;
          en[mi] = (offsets[b + 1] as number) * REC;
        }
        for (let mi = 0; mi < nm; mi++) {
          if (mi + 2 < nm) {
            const ahead = st[mi + 2] as number;
            // Empty buckets may start at the very end of the records: never read out of bounds.
            if (ahead < (en[mi + 2] as number)) touch ^= rec[ahead] as number;
          }
          const e = en[mi] as number;
          for (let p = st[mi] as number; p < e; p += REC) {
            if (pc3(qa ^ (rec[p] as number), qb ^ (rec[p + 1] as number), qc ^ (rec[p + 2] as number)) > maxT) continue;
            const id = ids[(p / REC) | 0] as number;
            const h = id << 3;
            const d = hamming256(q, qo, H, h);
            if (d > maxT) continue;
            if (this.deadCount > 0 && this.dead.has(id)) continue;
            const ref = this.refs[id] as number;
            if (!(d <= (limits[ref] as number))) continue;
            if (!PdqIndex.firstAt(q, qo, H, h, j, rowOff)) continue;
            count = this.push(count, ref, d);
          }
        }
      }
      this.sink = touch;
    }
    if (this.dHeads !== null) count = this.scanDelta(q, qo, maxT, rowOff, limits, count);
    return count;
  }

  /** The delta's part of `search`: every live delta entry within the limits, each once. */
  private scanDelta(q: Words, qo: number, maxT: number, rowOff: number, limits: Int16Array, count: number): number {
    const heads = this.dHeads as Int32Array;
    const H = this.dHashes;
    const next = this.dNext;
    for (let j = 0; j < SUBS; j++) {
      const r = RADII[rowOff + j] as number;
      if (r < 0) continue;
      const masks = MASKS[r] as Uint16Array;
      const v = sub(q, qo, j);
      const hb = j * BUCKETS;
      for (let mi = 0; mi < masks.length; mi++) {
        for (let id = heads[hb + (v ^ (masks[mi] as number))] as number; id >= 0; id = next[id * SUBS + j] as number) {
          const h = id << 3;
          const d = hamming256(q, qo, H, h);
          if (d > maxT) continue;
          if (this.dDeadCount > 0 && this.dDead.has(id)) continue;
          const ref = this.dRefs[id] as number;
          if (!(d <= (limits[ref] as number))) continue;
          if (!PdqIndex.firstAt(q, qo, H, h, j, rowOff)) continue;
          count = this.push(count, ref, d);
        }
      }
    }
    return count;
  }

  // Bucket ranges (record offsets) of the probes of two queries for searchMany: slot 0 and slot 1.
  private probeStarts = new Int32Array(0);
  private probeEnds = new Int32Array(0);

  /**
   * Yes/no for many queries: found[k] = 1 when the query at words[offs[k]..] has a live entry within
   * `maxT` and its ref's limit (exactly when `search` would return > 0), else 0; returns how many.
   *
   * Faster per query than `search` for a batch: before scanning the buckets of query k, it computes
   * the bucket ranges of query k + 1 and reads one word of every cache line of them. Those loads
   * do not depend on each other, so the memory system serves many at once, and query k + 1's
   * records are (mostly) in cache when its scan starts; the scan itself waits for one bucket's lines
   * after another. On the project machine that took random queries at t = 31 over 1.4 M hashes
   * from ~6.6 k to ~10 k per CPU-second (docs/performance.md).
   */
  searchMany(words: Words, offs: Int32Array, count: number, maxT: number, limits: Int16Array, found: Uint8Array): number {
    if (count <= 0) return 0;
    if (!(maxT >= 0)) {
      found.fill(0, 0, count);
      return 0;
    }
    if (maxT > MAX_PDQ_THRESHOLD) throw new RangeError(`PDQ threshold ${maxT} above ${MAX_PDQ_THRESHOLD}`);
    const rowOff = maxT * SUBS;
    let probes = 0;
    for (let j = 0; j < SUBS; j++) {
      const r = RADII[rowOff + j] as number;
      if (r >= 0) probes += (MASKS[r] as Uint16Array).length;
    }
    if (this.probeStarts.length < 2 * probes) {
      this.probeStarts = new Int32Array(2 * probes);
      this.probeEnds = new Int32Array(2 * probes);
    }
    let total = 0;
    if (this.n > 0) this.prefetchProbes(words, offs[0] as number, rowOff, 0);
    for (let k = 0; k < count; k++) {
      const qo = offs[k] as number;
      if (this.n > 0 && k + 1 < count) this.prefetchProbes(words, offs[k + 1] as number, rowOff, ((k + 1) & 1) * probes);
      let hit = this.n > 0 && this.anyInBase(words, qo, maxT, rowOff, limits, (k & 1) * probes);
      if (!hit && this.dHeads !== null) hit = this.scanDelta(words, qo, maxT, rowOff, limits, 0) > 0;
      found[k] = hit ? 1 : 0;
      if (hit) total++;
    }
    return total;
  }

  /** Bucket ranges of the query's probes into slot `base` of probeStarts/probeEnds, and a read of every cache line in them. */
  private prefetchProbes(q: Words, qo: number, rowOff: number, base: number): void {
    const st = this.probeStarts;
    const en = this.probeEnds;
    let k = base;
    let touch = 0;
    for (let j = 0; j < SUBS; j++) {
      const r = RADII[rowOff + j] as number;
      if (r < 0) continue;
      const masks = MASKS[r] as Uint16Array;
      const v = sub(q, qo, j);
      const offsets = this.offsets[j] as Int32Array;
      const nm = masks.length;
      for (let mi = 0; mi < nm; mi++, k++) {
        const b = v ^ (masks[mi] as number);
        st[k] = (offsets[b] as number) * REC;
        en[k] = (offsets[b + 1] as number) * REC;
      }
    }
    // Second pass, so that the offsets' own cache misses overlap instead of each delaying its bucket.
    k = base;
    for (let j = 0; j < SUBS; j++) {
      const r = RADII[rowOff + j] as number;
      if (r < 0) continue;
      const rec = this.records[j] as Int32Array;
      const nm = (MASKS[r] as Uint16Array).length;
      for (let mi = 0; mi < nm; mi++, k++) {
        const a = st[k] as number;
        const e = en[k] as number;
        // 16 ints = one 64-byte line; the last int covers the line a bucket ends in.
        if (a < e) {
          for (let p = a; p < e; p += 16) touch ^= rec[p] as number;
          touch ^= rec[e - 1] as number;
        }
      }
    }
    this.sink ^= touch;
  }

  /** True when the base holds a live entry within the limits (the probes' ranges are in slot `base`). */
  private anyInBase(q: Words, qo: number, maxT: number, rowOff: number, limits: Int16Array, base: number): boolean {
    const st = this.probeStarts;
    const en = this.probeEnds;
    const H = this.hashes;
    let k = base;
    for (let j = 0; j < SUBS; j++) {
      const r = RADII[rowOff + j] as number;
      if (r < 0) continue;
      const nm = (MASKS[r] as Uint16Array).length;
      const rec = this.records[j] as Int32Array;
      const ids = this.ids[j] as Int32Array;
      const w = j >>> 1;
      const qa = (q[qo + ((w + 1) & 7)] as number) | 0;
      const qb = (q[qo + ((w + 2) & 7)] as number) | 0;
      const qc = (q[qo + ((w + 3) & 7)] as number) | 0;
      for (let mi = 0; mi < nm; mi++, k++) {
        const e = en[k] as number;
        for (let p = st[k] as number; p < e; p += REC) {
          if (pc3(qa ^ (rec[p] as number), qb ^ (rec[p + 1] as number), qc ^ (rec[p + 2] as number)) > maxT) continue;
          const id = ids[(p / REC) | 0] as number;
          const d = hamming256(q, qo, H, id << 3);
          if (d > maxT) continue;
          if (this.deadCount > 0 && this.dead.has(id)) continue;
          if (d <= (limits[this.refs[id] as number] as number)) return true;
        }
      }
    }
    return false;
  }

  /** Refs of live entries exactly equal to the query (ignores limits) into `hits`; returns their number. */
  findExact(q: Words, qo: number): number {
    let count = 0;
    this.visitEqual(q, qo, (ref) => {
      count = this.push(count, ref, 0);
      return false;
    });
    return count;
  }

  /** Visits live entries equal to q; the visitor returns true to tombstone the entry. */
  private visitEqual(q: Words, qo: number, visit: (ref: number) => boolean): number {
    let removed = 0;
    const v = sub(q, qo, 0);
    const offsets = this.offsets[0];
    const ids = this.ids[0];
    if (offsets !== undefined && ids !== undefined) {
      const e = offsets[v + 1] as number;
      for (let p = offsets[v] as number; p < e; p++) {
        const id = ids[p] as number;
        if (this.dead.has(id) || hamming256(q, qo, this.hashes, id << 3) !== 0) continue;
        if (visit(this.refs[id] as number)) {
          this.dead.set(id);
          this.deadCount++;
          removed++;
        }
      }
    }
    if (this.dHeads !== null) {
      for (let id = this.dHeads[v] as number; id >= 0; id = this.dNext[id * SUBS] as number) {
        if (this.dDead.has(id) || hamming256(q, qo, this.dHashes, id << 3) !== 0) continue;
        if (visit(this.dRefs[id] as number)) {
          this.dDead.set(id);
          this.dDeadCount++;
          removed++;
        }
      }
    }
    return removed;
  }

  /** Adds an entry to the delta; it matches at once. The caller checks for duplicates. */
  add(q: Words, qo: number, ref: number): void {
    const id = this.dCount;
    if (this.dHeads === null) this.dHeads = new Int32Array(SUBS * BUCKETS).fill(-1);
    this.dHashes = growI32(this.dHashes, (id + 1) * WORDS, 0);
    this.dRefs = growU32(this.dRefs, id + 1);
    this.dNext = growI32(this.dNext, (id + 1) * SUBS, -1);
    for (let i = 0; i < WORDS; i++) this.dHashes[id * WORDS + i] = q[qo + i] as number;
    this.dRefs[id] = ref;
    for (let j = 0; j < SUBS; j++) {
      const b = j * BUCKETS + sub(q, qo, j);
      this.dNext[id * SUBS + j] = this.dHeads[b] as number;
      this.dHeads[b] = id;
    }
    this.dCount = id + 1;
  }

  /** Tombstones live entries equal to q whose ref satisfies `pred`; returns how many. */
  retract(q: Words, qo: number, pred: (ref: number) => boolean): number {
    return this.visitEqual(q, qo, pred);
  }

  /** Calls `fn` for every live entry. */
  forEach(fn: (hashes: Int32Array, off: number, ref: number) => void): void {
    for (let i = 0; i < this.n; i++) if (!(this.deadCount > 0 && this.dead.has(i))) fn(this.hashes, i * WORDS, this.refs[i] as number);
    for (let i = 0; i < this.dCount; i++) if (!(this.dDeadCount > 0 && this.dDead.has(i))) fn(this.dHashes, i * WORDS, this.dRefs[i] as number);
  }

  /** Rebuilds the base from live entries, dropping refs failing `keep`, mapping refs through `mapRef`. */
  compact(keep?: (ref: number) => boolean, mapRef?: (ref: number) => number): void {
    const { hashes, refs, n } = this.snapshot(keep, mapRef);
    this.load(hashes, refs, n);
  }

  /** The live entries (minus refs failing `keep`) packed into fresh arrays: the input of a rebuild. */
  snapshot(keep?: (ref: number) => boolean, mapRef?: (ref: number) => number): { hashes: Int32Array; refs: Uint32Array; n: number } {
    let live = 0;
    this.forEach((_h, _o, ref) => {
      if (keep === undefined || keep(ref)) live++;
    });
    const hashes = new Int32Array(live * WORDS);
    const refs = new Uint32Array(live);
    let j = 0;
    this.forEach((src, off, ref) => {
      if (keep !== undefined && !keep(ref)) return;
      hashes.set(src.subarray(off, off + WORDS), j * WORDS);
      refs[j] = mapRef === undefined ? ref : mapRef(ref);
      j++;
    });
    return { hashes, refs, n: live };
  }

  /** As ExactIndex.snapshotAsync: live entries after `prefix`, copied in slices with `pause` between. */
  async snapshotAsync(keep: ((ref: number) => boolean) | undefined, pause: () => Promise<void>, prefix?: { keys: Uint32Array | Int32Array; refs: Uint32Array; n: number }): Promise<{ hashes: Int32Array; refs: Uint32Array; n: number }> {
    const pn = prefix?.n ?? 0;
    const cap = pn + this.n + this.dCount;
    const hashes = new Int32Array(cap * WORDS);
    const refs = new Uint32Array(cap);
    if (prefix !== undefined) {
      const k = prefix.keys;
      hashes.set(k instanceof Int32Array ? k.subarray(0, pn * WORDS) : new Int32Array(k.buffer, k.byteOffset, pn * WORDS));
      refs.set(prefix.refs.subarray(0, pn));
    }
    let j = pn;
    const parts: [Int32Array, Uint32Array, number, BitSet, number][] = [
      [this.hashes, this.refs, this.n, this.dead, this.deadCount],
      [this.dHashes, this.dRefs, this.dCount, this.dDead, this.dDeadCount],
    ];
    for (const [H, R, n, dead, deadCount] of parts) {
      for (let i = 0; i < n; i++) {
        if ((i & 0xffff) === 0xffff) await pause();
        if (deadCount > 0 && dead.has(i)) continue;
        const ref = R[i] as number;
        if (keep !== undefined && !keep(ref)) continue;
        const o = j * WORDS;
        const p = i * WORDS;
        for (let k = 0; k < WORDS; k++) hashes[o + k] = H[p + k] as number;
        refs[j++] = ref;
      }
    }
    return { hashes, refs, n: j };
  }

  /** Linear scan with the same semantics as `search` (the correctness and speed baseline). */
  bruteForce(q: Words, qo: number, maxT: number, limits: Int16Array): number {
    let count = 0;
    const parts: [Int32Array, Uint32Array, number, BitSet, number][] = [
      [this.hashes, this.refs, this.n, this.dead, this.deadCount],
      [this.dHashes, this.dRefs, this.dCount, this.dDead, this.dDeadCount],
    ];
    for (const [H, refs, n, dead, deadCount] of parts) {
      for (let id = 0; id < n; id++) {
        const d = hamming256(q, qo, H, id << 3);
        if (d > maxT || (deadCount > 0 && dead.has(id))) continue;
        const ref = refs[id] as number;
        if (d <= (limits[ref] as number)) count = this.push(count, ref, d);
      }
    }
    return count;
  }
}
