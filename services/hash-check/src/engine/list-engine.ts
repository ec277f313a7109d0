import type { HashesValue } from '@hashcheck/events';
import { HashIndex, HASH_TYPES, WorkerBuilder } from '@hashcheck/hash-index';
import type { BaseBuilder, HashChunk, HashMatch, HashType, IndexStats } from '@hashcheck/hash-index';
import type { PublicMatch } from '../domain/bulk-check';
import type { ListDoc, ListStore } from '../store/lists';

interface Loaded {
  /** Key of the list's current generation in the index. */
  key: string;
  base: string | null;
  patches: string[];
  revision: number;
  status: ListDoc['status'];
  name: string;
  category: string;
}

export interface EngineLogger {
  info: (o: object, m: string) => void;
  warn: (o: object, m: string) => void;
  error: (o: object, m: string) => void;
}

/** A match as the report pipeline needs it (with the series id, which the check APIs never show). */
export interface ReportMatch {
  listId: string;
  listName: string;
  category: string;
  hashType: HashType;
  distance: number;
  seriesId?: string;
}

function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((x, i) => b[i] === x);
}

/**
 * Keeps the in-memory index equal to the lists in the database. Every change goes through `sync`
 * (serialised): new delta releases are applied entry by entry (they match, or stop matching, at
 * once); a new base is loaded as a new generation beside the old one, which keeps answering until
 * the swap.
 */
export class ListEngine {
  readonly index = new HashIndex();
  private readonly loaded = new Map<string, Loaded>();
  private generation = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private ready = false;
  /**
   * Builds new bases (compaction, a new generation of a list) in a worker thread: checks go on
   * being answered from the old base meanwhile. Every change of the index's entries runs in
   * `serial`, so none happens while a base is being rebuilt (the index refuses that).
   */
  private readonly builder: BaseBuilder;

  constructor(
    private readonly store: ListStore,
    private readonly log: EngineLogger,
    builder?: BaseBuilder,
  ) {
    this.builder = builder ?? new WorkerBuilder({ onFallback: (err) => log.warn({ err }, 'index build worker unavailable: rebuilding bases on the event loop') });
  }

  /** Stops the build worker (on shutdown). */
  close(): Promise<void> {
    return this.builder.close();
  }

  get isReady(): boolean {
    return this.ready;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Start-up: every list's base in one bulk load, then the patches, then the lists switch on. */
  loadAll(): Promise<{ lists: number; entries: number; ms: number }> {
    return this.serial(async () => {
      const started = performance.now();
      const lists = await this.store.allLists(false);
      const loader = this.index.bulkLoader();
      const bases = lists.map((l) => l.base).filter((b): b is string => b !== null);
      if (bases.length > 0) {
        for (const r of await this.store.releases.find({ _id: { $in: bases } }, { projection: { counts: 1 } }).toArray()) {
          for (const t of HASH_TYPES) loader.reserve(t, r.counts.add[t]);
        }
      }
      const keyOfBase = new Map<string, string>();
      for (const doc of lists) {
        const key = this.newKey(doc._id);
        this.index.defineList({ id: doc._id, key, name: doc.name, threshold: doc.threshold, enabled: false });
        if (doc.base !== null) keyOfBase.set(doc.base, key);
        this.loaded.set(doc._id, { key, base: doc.base, patches: [], revision: doc.revision, status: doc.status, name: doc.name, category: doc.category });
      }
      for await (const { releaseId, chunk } of this.store.readBaseChunks([...keyOfBase.keys()])) loader.addChunk(chunk, keyOfBase.get(releaseId) as string);
      const readMs = Math.round(performance.now() - started);
      await loader.commitAsync(this.builder);
      const indexMs = Math.round(performance.now() - started) - readMs;
      const deltas = await this.store.readDeltaChunks(lists.flatMap((l) => l.patches));
      for (const doc of lists) {
        const cur = this.loaded.get(doc._id) as Loaded;
        for (const patch of doc.patches) this.applyChunks(cur.key, deltas.get(patch) ?? []);
        cur.patches = [...doc.patches];
        this.index.setListEnabled(cur.key, doc.status === 'active');
      }
      if (this.index.needsCompaction()) await this.index.compactAsync(this.builder);
      this.ready = true;
      const stats = this.index.stats();
      const entries = HASH_TYPES.reduce((a, t) => a + stats.types[t].entries, 0);
      const ms = Math.round(performance.now() - started);
      this.log.info({ lists: lists.length, entries, ms, readMs, indexMs }, 'hash lists loaded');
      return { lists: lists.length, entries, ms };
    });
  }

  private newKey(listId: string): string {
    return `${listId}@${++this.generation}`;
  }

  private applyChunks(key: string, chunks: readonly HashChunk[]): number {
    let changed = 0;
    for (const chunk of chunks) changed += this.index.applyChunk(chunk, key).changed;
    return changed;
  }

  private async applyReleases(key: string, releaseIds: readonly string[]): Promise<number> {
    const deltas = await this.store.readDeltaChunks(releaseIds);
    let changed = 0;
    for (const id of releaseIds) changed += this.applyChunks(key, deltas.get(id) ?? []);
    return changed;
  }

  /** Brings one list up to date with the database. Safe to call for any reason, any number of times. */
  sync(listId: string): Promise<void> {
    return this.serial(async () => {
      const doc = await this.store.getList(listId);
      const cur = this.loaded.get(listId);
      if (!doc || doc.status === 'retired') {
        if (cur) {
          this.index.removeList(cur.key);
          this.loaded.delete(listId);
          this.log.info({ listId }, 'list retired: no longer matching');
        }
        return;
      }
      if (cur && cur.revision >= doc.revision) return;
      const started = performance.now();
      if (!cur || cur.base !== doc.base || !isPrefix(cur.patches, doc.patches)) {
        const key = this.newKey(listId);
        this.index.defineList({ id: listId, key, name: doc.name, threshold: doc.threshold, enabled: false });
        try {
          if (doc.base !== null) {
            const loader = this.index.bulkLoader();
            const base = await this.store.releases.findOne({ _id: doc.base }, { projection: { counts: 1 } });
            if (base) for (const t of HASH_TYPES) loader.reserve(t, base.counts.add[t]);
            for await (const { chunk } of this.store.readBaseChunks([doc.base])) loader.addChunk(chunk, key);
            await loader.commitAsync(this.builder);
          }
          await this.applyReleases(key, doc.patches);
        } catch (err) {
          // The next attempt loads under a new key: without this, every failed attempt (a database
          // outage) left a disabled copy of the list in memory for good.
          this.index.removeList(key);
          throw err;
        }
        // The swap: no await between enabling the new generation and removing the old one.
        this.index.setListEnabled(key, doc.status === 'active');
        if (cur) this.index.removeList(cur.key);
        this.loaded.set(listId, { key, base: doc.base, patches: [...doc.patches], revision: doc.revision, status: doc.status, name: doc.name, category: doc.category });
        this.log.info({ listId, revision: doc.revision, base: doc.base, patches: doc.patches.length, ms: Math.round(performance.now() - started) }, 'list loaded');
        return;
      }
      const changed = await this.applyReleases(cur.key, doc.patches.slice(cur.patches.length));
      this.index.defineList({ id: listId, key: cur.key, name: doc.name, threshold: doc.threshold, enabled: doc.status === 'active' });
      Object.assign(cur, { patches: [...doc.patches], revision: doc.revision, status: doc.status, name: doc.name, category: doc.category });
      this.log.info({ listId, revision: doc.revision, changed, ms: Math.round(performance.now() - started) }, 'list changes applied');
    });
  }

  /** Safety net for lost or late change events: syncs every list whose revision differs. */
  async syncChanged(): Promise<number> {
    const revs = await this.store.revisions();
    const seen = new Set<string>();
    let n = 0;
    for (const { _id, revision } of revs) {
      seen.add(_id);
      const cur = this.loaded.get(_id);
      if (cur?.revision !== revision) {
        await this.sync(_id);
        n++;
      }
    }
    for (const id of this.loaded.keys()) if (!seen.has(id)) await this.sync(id);
    return n;
  }

  /** Applies a single-hash change from the change topic to the list's current generation. */
  applyHashChange(listId: string, kind: 'added' | 'retracted', type: HashType, hash: string, category?: string, seriesId?: string): Promise<boolean> {
    return this.serial(async () => {
      const cur = this.loaded.get(listId);
      if (!cur) return false;
      if (kind === 'retracted') return this.index.retract(type, hash, cur.key) > 0;
      return this.index.add(type, hash, cur.key, { category, series: seriesId }) !== 'duplicate';
    });
  }

  private categoryOf(m: HashMatch): string {
    return m.category ?? this.loaded.get(m.list)?.category ?? 'uncategorised';
  }

  /** For the check APIs: list, name, category and distance only. */
  match(type: HashType, hex: string): readonly PublicMatch[] | undefined {
    const ms = this.index.check(type, hex);
    if (ms === undefined || ms.length === 0) return ms as readonly PublicMatch[] | undefined;
    return this.toPublic(ms);
  }

  private toPublic(ms: readonly HashMatch[]): readonly PublicMatch[] {
    return ms.length === 0 ? [] : ms.map((m) => ({ list: m.list, listName: m.listName, category: this.categoryOf(m), distance: m.distance }));
  }

  /** Batched yes/no for the bulk check (BatchMatcher). */
  matchMany(type: HashType, words: Uint32Array, offs: Int32Array, count: number, found: Uint8Array): number {
    return this.index.matchManyWords(type, words, offs, count, found);
  }

  /** The public matches of a hash given as packed words (BatchMatcher). */
  matchWords(type: HashType, words: Uint32Array, off: number): readonly PublicMatch[] {
    return this.toPublic(this.index.checkWords(type, words, off));
  }

  /** Yes or no, for the EOKM endpoint; undefined when the hash is malformed. */
  matches(type: HashType, hex: string): boolean | undefined {
    return this.index.matches(type, hex);
  }

  /** Every match of every hash of a report (lower-case hex, validated upstream). */
  matchReport(hashes: HashesValue): ReportMatch[] {
    const out: ReportMatch[] = [];
    for (const type of HASH_TYPES) {
      const hex = hashes[type];
      if (hex === undefined) continue;
      for (const m of this.index.check(type, hex) ?? []) {
        out.push({ listId: m.list, listName: m.listName.slice(0, 200), category: this.categoryOf(m), hashType: type, distance: m.distance, ...(m.series !== undefined ? { seriesId: m.series } : {}) });
      }
    }
    return out;
  }

  /** Folds deltas and tombstones into new bases when worth it, off the event loop; serialised with changes. */
  compactIfNeeded(): Promise<boolean> {
    if (!this.index.needsCompaction()) return Promise.resolve(false);
    return this.serial(async () => {
      if (!this.index.needsCompaction()) return false;
      const started = performance.now();
      await this.index.compactAsync(this.builder);
      this.log.info({ ms: Math.round(performance.now() - started) }, 'index compacted');
      return true;
    });
  }

  state(): { ready: boolean; lists: { id: string; revision: number; status: string; entries: Record<HashType, number> }[]; index: IndexStats } {
    return {
      ready: this.ready,
      lists: [...this.loaded.entries()].map(([id, l]) => ({ id, revision: l.revision, status: l.status, entries: this.index.getList(l.key)?.entries ?? { md5: 0, sha1: 0, sha256: 0, pdq: 0 } })),
      index: this.index.stats(),
    };
  }

  entriesOf(listId: string): Record<HashType, number> | undefined {
    const cur = this.loaded.get(listId);
    return cur ? this.index.getList(cur.key)?.entries : undefined;
  }

  /** The PDQ threshold of a loaded list. */
  thresholdOf(listId: string): number | undefined {
    const cur = this.loaded.get(listId);
    return cur ? this.index.getList(cur.key)?.threshold : undefined;
  }

  revisionOf(listId: string): number | undefined {
    return this.loaded.get(listId)?.revision;
  }
}
