import { buildExactBase, buildPdqBase } from './base-build';
import type { BaseBuilder } from './base-builder';
import { ExactIndex } from './exact-index';
import { DEFAULT_PDQ_THRESHOLD, EXACT_HASH_TYPES, HASH_TYPES, HASH_WORDS, MAX_PDQ_THRESHOLD } from './hash-types';
import type { ExactHashType, HashType } from './hash-types';
import { bytesToWords, parseHash, parseHexBytes, parseHexWords } from './hex';
import type { HashChunk } from './chunk-codec';
import { PdqIndex } from './pdq-index';

/** A list as the index sees it: what a match reports, and what decides whether it matches. */
export interface ListDefinition {
  /** Stable list id, reported in matches. */
  id: string;
  /**
   * Key of this list in the index, default `id`. Two keys may carry the same id: a new generation
   * of a list is loaded under a new key while the old one keeps answering, then the old is removed.
   */
  key?: string;
  name?: string;
  /** PDQ Hamming distance threshold, 0..63 (default 31). */
  threshold?: number;
  /** Disabled lists keep their entries but match nothing. Default true. */
  enabled?: boolean;
}

export interface ListState {
  key: string;
  id: string;
  name: string;
  threshold: number;
  enabled: boolean;
  /** Index entries per hash type (duplicates included). */
  entries: Record<HashType, number>;
}

/** Per-entry metadata. The series id is for victim notification and is never part of a check answer. */
export interface EntryMeta {
  category?: string | undefined;
  series?: string | undefined;
}

export interface HashMatch {
  list: string;
  listName: string;
  category: string | undefined;
  series: string | undefined;
  /** 0 for exact types, Hamming distance for PDQ. */
  distance: number;
}

export type AddResult = 'added' | 'duplicate' | 'updated';

export interface IndexStats {
  types: Record<HashType, { entries: number; delta: number; tombstones: number; bytes: number }>;
  lists: number;
  attrs: number;
  bytes: number;
}

interface ListSlot {
  key: string;
  id: string;
  name: string;
  threshold: number;
  enabled: boolean;
  removed: boolean;
  entries: Record<HashType, number>;
}

const NO_MATCHES: readonly HashMatch[] = Object.freeze([]);

/** Lets the event loop run between slices of an asynchronous snapshot. */
const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `matchesMany` marks an item that is not a valid hash of the type with this value. */
export const MANY_INVALID = 2;

function emptyCounts(): Record<HashType, number> {
  return { md5: 0, sha1: 0, sha256: 0, pdq: 0 };
}

/** Thrown for programming or data errors the caller must handle (unknown list, invalid hash). */
export class HashIndexError extends Error {
  readonly code: 'HC_INDEX_UNKNOWN_LIST' | 'HC_INDEX_INVALID_HASH' | 'HC_INDEX_INVALID_THRESHOLD' | 'HC_INDEX_BUSY';
  constructor(code: HashIndexError['code'], message: string) {
    super(message);
    this.name = 'HashIndexError';
    this.code = code;
  }
}

/**
 * All active hash lists in memory: one exact index per cryptographic hash type and one PDQ index,
 * sharing a small table of entry attributes (list, category, series). Entries refer to attributes
 * by a 32-bit ref, so millions of entries cost no JS objects.
 *
 * Changes are incremental: `add`, `retract`, `setListEnabled`, `removeList` take effect at once;
 * `compact()` folds deltas and tombstones into the sorted bases when `needsCompaction()` says so.
 */
export class HashIndex {
  private readonly slots: ListSlot[] = [];
  private readonly slotById = new Map<string, number>();
  private readonly attrSlot: number[] = [];
  private readonly attrCategory: (string | undefined)[] = [];
  private readonly attrSeries: (string | undefined)[] = [];
  private readonly attrByKey = new Map<string, number>();
  /** Per attr: the list's PDQ threshold while it is enabled, else -1. Exact matches need >= 0. */
  private limits = new Int16Array(64);
  private maxPdq = -1;
  private readonly exact: Record<ExactHashType, ExactIndex> = { md5: new ExactIndex(4), sha1: new ExactIndex(5), sha256: new ExactIndex(8) };
  private readonly pdq = new PdqIndex();
  private readonly scratch = new Uint32Array(8);
  /** Set while a base is rebuilt asynchronously: entries must not change until it is swapped in. */
  private rebuilding = false;

  /** True while `compactAsync` or `BulkLoader.commitAsync` runs. */
  get isRebuilding(): boolean {
    return this.rebuilding;
  }

  private assertIdle(): void {
    if (this.rebuilding) {
      throw new HashIndexError('HC_INDEX_BUSY', 'the index is rebuilding a base; entries cannot change until it is swapped in (serialise changes with rebuilds)');
    }
  }

  /** Runs an asynchronous rebuild with the index marked busy (checks go on; entry changes throw). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.assertIdle();
    this.rebuilding = true;
    try {
      return await fn();
    } finally {
      this.rebuilding = false;
    }
  }

  /** Creates a list or updates its name, threshold or enabled flag. */
  defineList(def: ListDefinition): ListState {
    const threshold = def.threshold ?? DEFAULT_PDQ_THRESHOLD;
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > MAX_PDQ_THRESHOLD) {
      throw new HashIndexError('HC_INDEX_INVALID_THRESHOLD', `PDQ threshold must be an integer 0..${MAX_PDQ_THRESHOLD}, got ${threshold}`);
    }
    const key = def.key ?? def.id;
    let slotNo = this.slotById.get(key);
    if (slotNo === undefined) {
      slotNo = this.slots.length;
      this.slots.push({ key, id: def.id, name: def.name ?? def.id, threshold, enabled: def.enabled ?? true, removed: false, entries: emptyCounts() });
      this.slotById.set(key, slotNo);
    } else {
      const slot = this.slots[slotNo] as ListSlot;
      if (def.name !== undefined) slot.name = def.name;
      slot.threshold = threshold;
      if (def.enabled !== undefined) slot.enabled = def.enabled;
    }
    this.refreshLimits();
    return this.listState(slotNo);
  }

  /** `id` here and in the methods below is the list's key (its id unless a key was given). */
  setListEnabled(id: string, enabled: boolean): void {
    this.slotOf(id).enabled = enabled;
    this.refreshLimits();
  }

  /** Removes a list: it stops matching at once; its entries are dropped at the next compaction. */
  removeList(id: string): boolean {
    const slotNo = this.slotById.get(id);
    if (slotNo === undefined) return false;
    const slot = this.slots[slotNo] as ListSlot;
    slot.removed = true;
    slot.enabled = false;
    this.slotById.delete(id);
    this.refreshLimits();
    return true;
  }

  hasList(id: string): boolean {
    return this.slotById.has(id);
  }

  getList(id: string): ListState | undefined {
    const slotNo = this.slotById.get(id);
    return slotNo === undefined ? undefined : this.listState(slotNo);
  }

  /** Keys of the lists in the index. */
  listKeys(): string[] {
    return [...this.slotById.keys()];
  }

  private listState(slotNo: number): ListState {
    const s = this.slots[slotNo] as ListSlot;
    return { key: s.key, id: s.id, name: s.name, threshold: s.threshold, enabled: s.enabled, entries: { ...s.entries } };
  }

  private slotOf(id: string): ListSlot {
    const slotNo = this.slotById.get(id);
    if (slotNo === undefined) throw new HashIndexError('HC_INDEX_UNKNOWN_LIST', `unknown list ${id}`);
    return this.slots[slotNo] as ListSlot;
  }

  private limitOf(slotNo: number): number {
    const s = this.slots[slotNo] as ListSlot;
    return s.enabled && !s.removed ? s.threshold : -1;
  }

  private refreshLimits(): void {
    for (let a = 0; a < this.attrSlot.length; a++) this.limits[a] = this.limitOf(this.attrSlot[a] as number);
    let maxPdq = -1;
    for (const s of this.slots) if (s.enabled && !s.removed && s.entries.pdq > 0 && s.threshold > maxPdq) maxPdq = s.threshold;
    this.maxPdq = maxPdq;
  }

  /** The attribute ref for (list, category, series), created on first use. */
  private attrRef(slotNo: number, meta: EntryMeta | undefined): number {
    const category = meta?.category;
    const series = meta?.series;
    const key = `${slotNo}\u0000${category ?? '\u0001'}\u0000${series ?? '\u0001'}`;
    let ref = this.attrByKey.get(key);
    if (ref === undefined) {
      ref = this.attrSlot.length;
      this.attrSlot.push(slotNo);
      this.attrCategory.push(category);
      this.attrSeries.push(series);
      this.attrByKey.set(key, ref);
      if (this.limits.length <= ref) {
        const limits = new Int16Array(this.limits.length * 2);
        limits.set(this.limits);
        this.limits = limits;
      }
      this.limits[ref] = this.limitOf(slotNo);
    }
    return ref;
  }

  private parse(type: HashType, hash: string | Uint32Array): Uint32Array {
    if (typeof hash !== 'string') {
      if (hash.length !== HASH_WORDS[type]) throw new HashIndexError('HC_INDEX_INVALID_HASH', `a ${type} hash has ${HASH_WORDS[type]} words`);
      return hash;
    }
    if (!parseHash(type, hash, this.scratch)) throw new HashIndexError('HC_INDEX_INVALID_HASH', `not a ${type} hash in hex`);
    return this.scratch;
  }

  /** Refs of live entries equal to the hash, whatever their list's state. */
  private equalRefs(type: HashType, q: Uint32Array): Uint32Array {
    if (type === 'pdq') {
      const n = this.pdq.findExact(q, 0);
      return this.pdq.hits.slice(0, n);
    }
    const idx = this.exact[type];
    const n = idx.lookup(q, 0);
    return idx.hits.slice(0, n);
  }

  /**
   * Adds one entry; it matches immediately. Idempotent: adding an entry the list already holds with
   * the same metadata is a no-op ('duplicate'); with other metadata the entry is replaced ('updated').
   */
  add(type: HashType, hash: string | Uint32Array, listId: string, meta?: EntryMeta): AddResult {
    const slotNo = this.slotById.get(listId);
    if (slotNo === undefined) throw new HashIndexError('HC_INDEX_UNKNOWN_LIST', `unknown list ${listId}`);
    this.assertIdle();
    const q = this.parse(type, hash);
    const ref = this.attrRef(slotNo, meta);
    let sameList = false;
    for (const r of this.equalRefs(type, q)) {
      if (r === ref) return 'duplicate';
      if (this.attrSlot[r] === slotNo) sameList = true;
    }
    if (sameList) this.retract(type, q, listId);
    if (type === 'pdq') this.pdq.add(q, 0, ref);
    else this.exact[type].add(q, 0, ref);
    const slot = this.slots[slotNo] as ListSlot;
    slot.entries[type]++;
    if (type === 'pdq' && slot.entries.pdq === 1) this.refreshLimits();
    return sameList ? 'updated' : 'added';
  }

  /** Retracts the hash from one list; it stops matching immediately. Returns the number of entries removed. */
  retract(type: HashType, hash: string | Uint32Array, listId: string): number {
    const slotNo = this.slotById.get(listId);
    if (slotNo === undefined) throw new HashIndexError('HC_INDEX_UNKNOWN_LIST', `unknown list ${listId}`);
    this.assertIdle();
    const q = this.parse(type, hash);
    const pred = (ref: number): boolean => this.attrSlot[ref] === slotNo;
    const removed = type === 'pdq' ? this.pdq.retract(q, 0, pred) : this.exact[type].retract(q, 0, pred);
    const slot = this.slots[slotNo] as ListSlot;
    slot.entries[type] -= removed;
    if (type === 'pdq' && removed > 0 && slot.entries.pdq === 0) this.refreshLimits();
    return removed;
  }

  /**
   * Checks one hash given in hex (either case). Returns the matches (empty when none), or undefined
   * when the hex is not a valid hash of that type. Never returns other hashes.
   */
  check(type: HashType, hex: string): readonly HashMatch[] | undefined {
    if (!parseHash(type, hex, this.scratch)) return undefined;
    return this.checkWords(type, this.scratch, 0);
  }

  /** Checks the hash at words[off..]; no allocation unless something matches. */
  checkWords(type: HashType, words: Uint32Array, off: number): readonly HashMatch[] {
    let n: number;
    let hits: Uint32Array;
    let dists: Uint16Array | undefined;
    if (type === 'pdq') {
      n = this.pdq.search(words, off, this.maxPdq, this.limits);
      hits = this.pdq.hits;
      dists = this.pdq.dists;
    } else {
      const idx = this.exact[type];
      n = idx.lookup(words, off, this.limits);
      hits = idx.hits;
    }
    if (n === 0) return NO_MATCHES;
    return this.toMatches(hits, dists, n);
  }

  /**
   * True when the hex hash matches anything (the EOKM-style yes/no answer), without building match
   * objects; undefined when the hex is not a valid hash of the type.
   */
  matches(type: HashType, hex: string): boolean | undefined {
    if (!parseHash(type, hex, this.scratch)) return undefined;
    return this.matchesWords(type, this.scratch, 0);
  }

  /** True when the hash matches anything, without building match objects. */
  matchesWords(type: HashType, words: Uint32Array, off: number): boolean {
    if (type === 'pdq') return this.pdq.search(words, off, this.maxPdq, this.limits) > 0;
    return this.exact[type].lookup(words, off, this.limits) > 0;
  }

  /**
   * Yes/no for many hashes of one type at once: found[j] = 1 when the hash at words[offs[j]..]
   * matches anything, else 0; returns how many matched. For exact types this is the batched lookup
   * (the cache misses of a group of queries overlap), several times faster per hash than one
   * `matchesWords` call each; build the match objects afterwards with `checkWords` for the few hits.
   */
  matchManyWords(type: HashType, words: Uint32Array, offs: Int32Array, count: number, found: Uint8Array): number {
    if (type !== 'pdq') return this.exact[type].lookupMany(words, offs, count, found, this.limits);
    return this.pdq.searchMany(words, offs, count, this.maxPdq, this.limits, found);
  }

  private manyWords = new Uint32Array(0);
  private manyOffs = new Int32Array(0);
  private manyBytes = new Uint8Array(0);
  private readonly encoder = new TextEncoder();

  /**
   * Yes/no for many hex hashes of one type: found[j] = 1 (matches), 0 (no match) or
   * MANY_INVALID (not a valid hash of the type) for hexes[j]; returns how many matched.
   * Slices of 1,024 hashes are copied into bytes with one native call (a string's characters are
   * slower to read one by one than bytes), parsed into packed words, then looked up as one batch.
   */
  matchesMany(type: HashType, hexes: readonly string[], found: Uint8Array): number {
    const w = HASH_WORDS[type];
    const chars = w * 8;
    const count = hexes.length;
    const step = 1024;
    if (this.manyOffs.length < step) {
      this.manyWords = new Uint32Array(step * 8);
      this.manyOffs = new Int32Array(step);
      this.manyBytes = new Uint8Array(step * 64);
    }
    const words = this.manyWords;
    const offs = this.manyOffs;
    const bytes = this.manyBytes;
    const sub = found.length === count ? found : found.subarray(0, count);
    let total = 0;
    const slice: string[] = [];
    for (let from = 0; from < count; from += step) {
      const m = Math.min(step, count - from);
      slice.length = 0;
      for (let j = 0; j < m; j++) {
        const hex = hexes[from + j] as string;
        if (hex.length === chars) {
          slice.push(hex);
          sub[from + j] = 0;
        } else {
          sub[from + j] = MANY_INVALID;
        }
      }
      const joined = slice.join('');
      const { read, written } = this.encoder.encodeInto(joined, bytes);
      // Any non-ASCII character changes the byte count: parse that slice character by character.
      const ascii = read === joined.length && written === joined.length;
      let k = 0;
      for (let j = 0, v = 0; j < m; j++) {
        if (sub[from + j] !== 0) continue;
        const ok = ascii ? parseHexBytes(bytes, v * chars, words, k * w, w) : parseHexWords(hexes[from + j] as string, words, k * w, w);
        v++;
        if (ok) {
          offs[k] = k * w;
          k++;
        } else {
          sub[from + j] = MANY_INVALID;
        }
      }
      const flags = this.manyFlags(k);
      total += this.matchManyWords(type, words, offs, k, flags);
      for (let j = 0, v = 0; j < m; j++) if (sub[from + j] === 0) sub[from + j] = flags[v++] as number;
    }
    return total;
  }

  private flags = new Uint8Array(0);
  private manyFlags(k: number): Uint8Array {
    if (this.flags.length < k) this.flags = new Uint8Array(Math.max(k, 1024));
    return this.flags;
  }

  private toMatches(hits: Uint32Array, dists: Uint16Array | undefined, n: number): HashMatch[] {
    if (n === 1) {
      const ref = hits[0] as number;
      const slot = this.slots[this.attrSlot[ref] as number] as ListSlot;
      return [{ list: slot.id, listName: slot.name, category: this.attrCategory[ref], series: this.attrSeries[ref], distance: dists === undefined ? 0 : (dists[0] as number) }];
    }
    const out: HashMatch[] = [];
    const seen: number[] = [];
    for (let i = 0; i < n; i++) {
      const ref = hits[i] as number;
      const distance = dists === undefined ? 0 : (dists[i] as number);
      // Duplicate entries (the same line imported twice) collapse into one match, keeping the closest.
      const k = seen.indexOf(ref);
      if (k >= 0) {
        const prev = out[k] as HashMatch;
        if (distance < prev.distance) prev.distance = distance;
        continue;
      }
      seen.push(ref);
      const slot = this.slots[this.attrSlot[ref] as number] as ListSlot;
      out.push({ list: slot.id, listName: slot.name, category: this.attrCategory[ref], series: this.attrSeries[ref], distance });
    }
    out.sort((a, b) => a.distance - b.distance || (a.list < b.list ? -1 : a.list > b.list ? 1 : 0));
    return out;
  }

  /**
   * Applies a chunk incrementally (each entry through `add` or `retract`), for changes that must
   * match or stop matching at once. Per-entry metadata wins over `defaults`.
   */
  applyChunk(chunk: HashChunk, listId: string, defaults?: EntryMeta): { changed: number } {
    const words = new Uint32Array(HASH_WORDS[chunk.type]);
    const size = words.length * 4;
    let changed = 0;
    for (let i = 0; i < chunk.count; i++) {
      bytesToWords(chunk.hashes.subarray(i * size, (i + 1) * size), words);
      if (chunk.op === 'retract') {
        changed += this.retract(chunk.type, words, listId) > 0 ? 1 : 0;
      } else {
        const meta = { category: chunk.categories?.[i] ?? defaults?.category, series: chunk.series?.[i] ?? defaults?.series };
        changed += this.add(chunk.type, words, listId, meta) === 'duplicate' ? 0 : 1;
      }
    }
    return { changed };
  }

  /** Starts a bulk load: entries are packed into typed arrays and indexed together on commit. */
  bulkLoader(): BulkLoader {
    return new BulkLoader(
      this,
      (slotNo, meta) => this.attrRef(slotNo, meta),
      (id) => this.slotById.get(id),
      (ref) => this.attrSlot[ref] as number,
    );
  }

  /** @internal Used by BulkLoader.commit: merges the loaded arrays with the live entries into new bases. */
  commitBulk(type: HashType, keys: Uint32Array, refs: Uint32Array, n: number, perSlot: Map<number, number>): void {
    this.assertIdle();
    const { allKeys, allRefs, total } = this.mergeLive(type, keys, refs, n);
    if (type === 'pdq') this.pdq.install(buildPdqBase(allKeys, allRefs, total));
    else this.exact[type].install(buildExactBase(allKeys, allRefs, HASH_WORDS[type], total));
    this.countBulk(type, perSlot);
  }

  /** @internal Used by BulkLoader.commitAsync: as commitBulk, with the base built by `builder`. */
  commitBulkAsync(types: { type: HashType; keys: Uint32Array; refs: Uint32Array; n: number; perSlot: Map<number, number> }[], builder: BaseBuilder): Promise<void> {
    return this.exclusive(async () => {
      for (const { type, keys, refs, n, perSlot } of types) {
        const prefix = { keys, refs, n };
        if (type === 'pdq') {
          const snap = await this.pdq.snapshotAsync(undefined, pause, prefix);
          this.pdq.install(await builder.buildPdq(snap.hashes, snap.refs, snap.n));
        } else {
          const idx = this.exact[type];
          const snap = await idx.snapshotAsync(undefined, pause, prefix);
          idx.install(await builder.buildExact(snap.keys, snap.refs, idx.width, snap.n));
        }
        this.countBulk(type, perSlot);
      }
    });
  }

  private mergeLive(type: HashType, keys: Uint32Array, refs: Uint32Array, n: number): { allKeys: Uint32Array; allRefs: Uint32Array; total: number } {
    const w = HASH_WORDS[type];
    const idx = type === 'pdq' ? this.pdq : this.exact[type];
    const live = idx.size;
    if (live === 0) return { allKeys: keys, allRefs: refs, total: n };
    const total = n + live;
    const allKeys = new Uint32Array(total * w);
    const allRefs = new Uint32Array(total);
    allKeys.set(keys.subarray(0, n * w));
    allRefs.set(refs.subarray(0, n));
    let j = n;
    idx.forEach((src, off, ref) => {
      for (let k = 0; k < w; k++) allKeys[j * w + k] = src[off + k] as number;
      allRefs[j] = ref;
      j++;
    });
    return { allKeys, allRefs, total };
  }

  private countBulk(type: HashType, perSlot: Map<number, number>): void {
    for (const [slotNo, count] of perSlot) (this.slots[slotNo] as ListSlot).entries[type] += count;
    this.refreshLimits();
  }

  needsCompaction(): boolean {
    return this.pdq.needsCompaction() || EXACT_HASH_TYPES.some((t) => this.exact[t].needsCompaction());
  }

  /**
   * Folds deltas and tombstones into new sorted bases and drops entries of removed lists.
   * Synchronous and O(n) (~1 s per 1.4 M exact entries): prefer `compactAsync` where checks are served.
   */
  compact(force = false): void {
    this.assertIdle();
    const { keep, removed, anyRemoved } = this.purgePlan();
    for (const t of EXACT_HASH_TYPES) if (force || anyRemoved || this.exact[t].needsCompaction()) this.exact[t].compact(keep);
    if (force || anyRemoved || this.pdq.needsCompaction()) this.pdq.compact(keep);
    for (const s of removed) s.entries = emptyCounts();
  }

  /**
   * `compact` with the O(n) part (sorting, table building) done by `builder`, e.g. a WorkerBuilder
   * in a worker thread: the event loop only copies the live entries out and swaps the new base in,
   * checks keep being answered from the old base meanwhile. Entry changes (add, retract, bulk
   * commits, other compactions) throw HC_INDEX_BUSY until it resolves: serialise them with it.
   */
  compactAsync(builder: BaseBuilder, force = false): Promise<void> {
    return this.exclusive(async () => {
      const { keep, removed, anyRemoved } = this.purgePlan();
      for (const t of EXACT_HASH_TYPES) {
        const idx = this.exact[t];
        if (!(force || anyRemoved || idx.needsCompaction())) continue;
        const snap = await idx.snapshotAsync(keep, pause);
        idx.install(await builder.buildExact(snap.keys, snap.refs, idx.width, snap.n));
      }
      if (force || anyRemoved || this.pdq.needsCompaction()) {
        const snap = await this.pdq.snapshotAsync(keep, pause);
        this.pdq.install(await builder.buildPdq(snap.hashes, snap.refs, snap.n));
      }
      for (const s of removed) s.entries = emptyCounts();
    });
  }

  /** Which entries a compaction keeps: those of lists not removed (as of now). */
  private purgePlan(): { keep: (ref: number) => boolean; removed: ListSlot[]; anyRemoved: boolean } {
    const removedSlots = new Set<number>();
    this.slots.forEach((s, i) => {
      if (s.removed) removedSlots.add(i);
    });
    const removed = this.slots.filter((s) => s.removed);
    const keep = (ref: number): boolean => !removedSlots.has(this.attrSlot[ref] as number);
    const anyRemoved = removed.some((s) => HASH_TYPES.some((t) => s.entries[t] > 0));
    return { keep, removed, anyRemoved };
  }

  /** Brute-force PDQ search with the same semantics as `check` (for tests and benchmarks). */
  checkPdqBruteForce(hex: string): readonly HashMatch[] | undefined {
    if (!parseHash('pdq', hex, this.scratch)) return undefined;
    const n = this.maxPdq < 0 ? 0 : this.pdq.bruteForce(this.scratch, 0, this.maxPdq, this.limits);
    return n === 0 ? NO_MATCHES : this.toMatches(this.pdq.hits, this.pdq.dists, n);
  }

  stats(): IndexStats {
    const types = {} as IndexStats['types'];
    let bytes = 0;
    for (const t of HASH_TYPES) {
      const idx = t === 'pdq' ? this.pdq : this.exact[t];
      const b = idx.byteSize();
      bytes += b;
      types[t] = { entries: idx.size, delta: idx.deltaSize, tombstones: idx.tombstones, bytes: b };
    }
    return { types, lists: this.slotById.size, attrs: this.attrSlot.length, bytes };
  }
}

const INITIAL = 1 << 16;

/**
 * Accumulates entries of many releases in packed arrays (no object per hash), then indexes them in
 * one pass. Memory: the packed arrays grow by doubling; pass `expected` counts to size them exactly.
 */
export class BulkLoader {
  private readonly keys: Record<HashType, Uint32Array>;
  private readonly refs: Record<HashType, Uint32Array>;
  private readonly counts: Record<HashType, number> = emptyCounts();
  private readonly perSlot: Record<HashType, Map<number, number>> = { md5: new Map(), sha1: new Map(), sha256: new Map(), pdq: new Map() };
  private readonly scratch = new Uint32Array(8);
  private done = false;

  constructor(
    private readonly index: HashIndex,
    private readonly attrRef: (slotNo: number, meta: EntryMeta | undefined) => number,
    private readonly slotOf: (id: string) => number | undefined,
    private readonly slotOfRef: (ref: number) => number,
  ) {
    this.keys = { md5: new Uint32Array(0), sha1: new Uint32Array(0), sha256: new Uint32Array(0), pdq: new Uint32Array(0) };
    this.refs = { md5: new Uint32Array(0), sha1: new Uint32Array(0), sha256: new Uint32Array(0), pdq: new Uint32Array(0) };
  }

  /** Reserves room for `n` more entries of a type (avoids doubling overshoot when the count is known). */
  reserve(type: HashType, n: number): void {
    this.ensure(type, this.counts[type] + n, true);
  }

  private ensure(type: HashType, min: number, exact = false): void {
    const cur = this.refs[type];
    if (cur.length >= min) return;
    let cap = exact ? min : Math.max(INITIAL, cur.length);
    while (cap < min) cap *= 2;
    const w = HASH_WORDS[type];
    const keys = new Uint32Array(cap * w);
    keys.set(this.keys[type].subarray(0, this.counts[type] * w));
    const refs = new Uint32Array(cap);
    refs.set(cur.subarray(0, this.counts[type]));
    this.keys[type] = keys;
    this.refs[type] = refs;
  }

  /** A ref for (list, meta) to pass to `addWords`; resolve it once per chunk, not per hash. */
  ref(listId: string, meta?: EntryMeta): number {
    const slotNo = this.slotOf(listId);
    if (slotNo === undefined) throw new HashIndexError('HC_INDEX_UNKNOWN_LIST', `unknown list ${listId}`);
    return this.attrRef(slotNo, meta);
  }

  /** Adds the hash at words[off..] with a ref from `ref()`. */
  addWords(type: HashType, words: Uint32Array, off: number, ref: number, slotCount = true): void {
    const n = this.counts[type];
    this.ensure(type, n + 1);
    const w = HASH_WORDS[type];
    const keys = this.keys[type];
    for (let k = 0; k < w; k++) keys[n * w + k] = words[off + k] as number;
    (this.refs[type] as Uint32Array)[n] = ref;
    this.counts[type] = n + 1;
    if (slotCount) this.countSlot(type, ref, 1);
  }

  private lastRef = -1;
  private lastSlot = -1;
  private countSlot(type: HashType, ref: number, k: number): void {
    if (ref !== this.lastRef) {
      this.lastRef = ref;
      this.lastSlot = this.slotOfRef(ref);
    }
    const m = this.perSlot[type];
    m.set(this.lastSlot, (m.get(this.lastSlot) ?? 0) + k);
  }

  /**
   * Adds every entry of an 'add' chunk to `listId`. Per-entry metadata wins over `defaults`; the
   * common case (no per-entry metadata) converts the whole chunk in one pass.
   */
  addChunk(chunk: HashChunk, listId: string, defaults?: EntryMeta): void {
    if (chunk.op !== 'add') throw new RangeError('only add chunks can be bulk loaded; apply retractions after commit');
    const type = chunk.type;
    const w = HASH_WORDS[type];
    const n = this.counts[type];
    this.ensure(type, n + chunk.count);
    bytesToWords(chunk.hashes, this.keys[type], n * w);
    const refs = this.refs[type];
    if (chunk.categories === undefined && chunk.series === undefined) {
      const ref = this.ref(listId, defaults);
      refs.fill(ref, n, n + chunk.count);
      this.countSlot(type, ref, chunk.count);
    } else {
      for (let i = 0; i < chunk.count; i++) {
        const ref = this.ref(listId, { category: chunk.categories?.[i] ?? defaults?.category, series: chunk.series?.[i] ?? defaults?.series });
        refs[n + i] = ref;
        this.countSlot(type, ref, 1);
      }
    }
    this.counts[type] = n + chunk.count;
  }

  /** Adds one hash in hex; returns false (adding nothing) when it is not a valid hash of that type. */
  add(type: HashType, hex: string, listId: string, meta?: EntryMeta): boolean {
    if (!parseHash(type, hex, this.scratch)) return false;
    this.addWords(type, this.scratch, 0, this.ref(listId, meta));
    return true;
  }

  get size(): number {
    return HASH_TYPES.reduce((a, t) => a + this.counts[t], 0);
  }

  /**
   * As `commit`, with the bases built by `builder` (e.g. in a worker thread); the lists being loaded
   * switch over when it resolves, and entry changes throw HC_INDEX_BUSY until then.
   */
  commitAsync(builder: BaseBuilder): Promise<void> {
    if (this.done) throw new Error('bulk loader already committed');
    this.done = true;
    const jobs = HASH_TYPES.filter((t) => this.counts[t] > 0).map((t) => ({ type: t, keys: this.keys[t], refs: this.refs[t], n: this.counts[t], perSlot: this.perSlot[t] }));
    for (const t of HASH_TYPES) {
      this.keys[t] = new Uint32Array(0);
      this.refs[t] = new Uint32Array(0);
    }
    return this.index.commitBulkAsync(jobs, builder);
  }

  /** Indexes everything added (together with the entries already live in the index) and swaps it in. */
  commit(): void {
    if (this.done) throw new Error('bulk loader already committed');
    this.done = true;
    for (const t of HASH_TYPES) {
      if (this.counts[t] === 0) continue;
      this.index.commitBulk(t, this.keys[t], this.refs[t], this.counts[t], this.perSlot[t]);
      this.keys[t] = new Uint32Array(0);
      this.refs[t] = new Uint32Array(0);
    }
  }
}
