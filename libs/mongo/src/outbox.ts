import type { Db, Document, Filter } from 'mongodb';
import { Header, Topics, type EventEnvelope } from '@hashcheck/events';
import { captureContext, UnencodableEvents, type Carrier, type EventProducer } from '@hashcheck/kafka';
import { RecentIds } from './recent-ids';
import { OUTBOX_PENDING, PendingMarks, type PendingMark, type WithEvents } from './pending-marks';

/**
 * Embedded outbox: a state change and the events it must emit are written in ONE document (no
 * multi-document transactions on the local server), and the relay publishes them afterwards.
 */
export interface OutboxEntry {
  id: string;
  topic: string;
  /**
   * The envelope as JSON text; entries written before this was so hold it as a sub-document. Text,
   * because FerretDB decodes every field of every document it reads and re-encodes the document on
   * every update, and the relay's removal is an update: one string instead of the report all over
   * again took the removal from 0.94 - 0.99 to 0.56 - 0.58 ms per document, the insert from
   * 0.22 - 0.33 to 0.17 - 0.18 ms (2,000 report-sized documents, load average 2).
   */
  event: string | EventEnvelope;
  /** Trace context captured when the change was made, so the publish joins the original trace. */
  carrier: Carrier;
  createdAt: Date;
}

export interface WithOutbox {
  outbox?: OutboxEntry[];
}

export function outboxEntry(topic: string, event: EventEnvelope): OutboxEntry {
  return { id: event.id, topic, event: JSON.stringify(event), carrier: captureContext(), createdAt: new Date() };
}

/** An entry as the producer publishes it: the event, under the trace context captured with it. */
export function tracedEvent(entry: OutboxEntry): { event: EventEnvelope; carrier: Carrier } {
  return { event: typeof entry.event === 'string' ? (JSON.parse(entry.event) as EventEnvelope) : entry.event, carrier: entry.carrier ?? {} };
}

/**
 * Serves the relay's sweeps on MongoDB: they look for entries by age, so only documents with
 * pending entries are read (FerretDB reads every document whatever the index). It replaced
 * `{ 'outbox.id': 1 }` ("outbox_pending"), which no sweep could use for a range; that index is left
 * where it exists and can be dropped.
 */
export const OUTBOX_INDEX = { key: { 'outbox.createdAt': 1 }, name: 'outbox_by_age' } as const;

/** Every pending entry: a range on the indexed field (an entry's createdAt is a date). */
const ANY_PENDING = { 'outbox.createdAt': { $gte: new Date(0) } };

export interface OutboxRelayOptions {
  db: Db;
  /**
   * Where the sweeps read (default `db`): a second connection on FerretDB (MongoHandle.scanDb).
   * Only reads go there; removals stay on `db`, whose one connection orders them with the
   * service's own updates.
   */
  scanDb?: Db;
  collections: string[];
  /**
   * Those of `collections` whose writers keep entries in `events` and mark them pending in
   * `outbox_pending` (PendingMarks) instead of queueing them in `outbox`. Their `outbox` is still
   * swept, for entries written before (or by an instance that does not mark yet).
   */
  marked?: string[];
  /**
   * Age past which a mark whose document does not hold its entry is deleted: the write it was made
   * for never happened (it failed, or its writer died before it). Default 1 hour: far beyond any
   * write's time, so no write still on its way loses its mark.
   */
  orphanAfterMs?: number;
  /** Longest pause between two sweeps (default 30 s); for tests. */
  maxSweepMs?: number;
  /** How often periodic sweeps also read marked collections' embedded outbox (default 10 minutes); for tests. */
  embeddedSweepMs?: number;
  producer: EventProducer;
  logger: { error: (o: object, m: string) => void; debug: (o: object, m: string) => void; warn?: (o: object, m: string) => void };
  /** How often every collection is swept for pending entries (crash leftovers, other instances' writes). */
  intervalMs?: number;
  batchSize?: number;
  /**
   * Database requests in flight at once when published entries have to be removed one document
   * at a time (the fallback of the batch update; default 4). Bounded because FerretDB 1.24 deadlocks past 100 connections per
   * database: each `update` statement holds a SQLite connection for its read until the whole
   * command ends and takes one more for its write, so the old 100-statement bulkWrite (or 100
   * concurrent requests beside other traffic) left every request on the database waiting forever.
   * Measured (libs/mongo/bench/outbox-relay.infra.bench.ts, beside another writer): 1 in flight
   * 23 entries/s, 4: 51, 8: 74 (load average 33); the other writer lost share as the relay gained it.
   */
  concurrency?: number;
  onPublished?: (count: number) => void;
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * Documents whose published entries one update removes. FerretDB spends about the same per
 * document whatever the chunk (~0.5 ms quiet, ~2 ms with the machine busy), but a service has one
 * connection to it and the chunk holds it: 200 documents held it for 100 - 480 ms while the
 * service's own inserts queued behind it; with 20 a removal held it ~30 ms and the inserts waited
 * 21 ms on average instead of 39 ms with 50. Measured under test/bench/pipeline.infra.bench.ts at
 * half load, with the driver's command events (`monitorCommands`) timing each command on the
 * services' connections: a temporary probe, not part of the benchmark.
 */
const PULL_CHUNK = 20;

/** How many published entry ids a relay remembers (about 100 bytes each). */
const RECENT_IDS = 50_000;

/** Age below which a periodic sweep leaves an entry to its hint. */
const SWEEP_MIN_AGE_MS = 10_000;

/**
 * Longest pause between two sweeps that find nothing: crash leftovers of another instance wait at
 * most this, plus SWEEP_MIN_AGE_MS (an instance sweeps everything when it starts, so its own wait
 * for its restart). Every writer hints, so a sweep finds something only after a crash. On FerretDB a
 * sweep reads every document of every outbox collection (2.1 - 2.3 s at ~10,000 reports); it does
 * so on a connection of its own (scanDb), so the service's writes no longer wait for it: at half
 * load p50 / p99 216 / 406 ms with sweeps 30 s apart, 347 - 383 / 656 - 674 ms with 5 minutes
 * (within the noise). 5 minutes made the notification scale test's killed instance's notices.sent
 * wait past its 30 s (test/scale/notification-killed.test.ts).
 */
const MAX_SWEEP_MS = 30_000;

/**
 * How often a periodic sweep also reads the embedded outbox of marked collections: what an instance
 * that does not mark yet left behind when it crashed waits at most this (or until any instance
 * starts: the start-up sweep reads everything).
 */
const EMBEDDED_SWEEP_MS = 10 * 60_000;

/**
 * The document a write just gave pending entries: the relay fetches it by `_id` instead of
 * sweeping, or, when the writer hands over the `entries` it wrote, publishes them without reading.
 */
export interface OutboxHint {
  collection: string;
  id: unknown;
  /** Exactly the entries the write stored (the same objects), so they need no read back. */
  entries?: OutboxEntry[];
}

interface Hinted {
  id: unknown;
  entries?: OutboxEntry[];
}

/**
 * Publishes pending outbox entries, then removes them from their documents. A crash between the
 * two republishes the same event id, which every consumer treats as already done.
 *
 * Two ways to find pending entries: a writer's hint (`notify({ collection, id, entries })`), which
 * hands over the entries it stored or is fetched by `_id`, and a periodic sweep of every
 * collection. FerretDB 1.24 (SQLite) pushes down only `_id` lookups (with the local stack's
 * patches), so a sweep is a scan of the whole collection: hints keep the hot path O(written), the
 * sweep (every `intervalMs`, less often while it finds nothing: see #pass) keeps crash recovery.
 */
export class OutboxRelay {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #hints = new Map<string, Map<string, Hinted>>();
  #nextSweep = 0;
  #nextEmbeddedSweep = 0;
  /** notify() calls without a hint so far: one made during a sweep asks for another sweep. */
  #sweepAsked = 0;
  /** #sweepAsked as of the last sweep: a difference means notify() without a hint came since. */
  #sweptAsked = 0;
  /**
   * Ids of the entries this relay published lately. Entries handed over by a writer are not read
   * back, so a sweep that ran between the write and the hinted pass may have published them
   * already: those are skipped, not published twice.
   */
  #recent = new RecentIds(RECENT_IDS);
  readonly #marked: Set<string>;
  readonly #marks: PendingMarks;
  /**
   * Deletes of published entries' marks, one after another, not awaited by the pass that published
   * them: the next hints go out while the service's connection gets to the delete. A mark left by a
   * crash only means the entry is published again (the same event id).
   */
  #unmarking: Promise<void> = Promise.resolve();

  constructor(private readonly options: OutboxRelayOptions) {
    this.#marked = new Set(options.marked ?? []);
    this.#marks = new PendingMarks(options.db);
  }

  get #concurrency(): number {
    return Math.max(1, this.options.concurrency ?? 4);
  }

  #markSwept: () => void = () => undefined;

  /** Resolves once a sweep has gone over every collection since start() (tests wait for the start-up sweep). */
  readonly swept: Promise<void> = new Promise<void>((resolve) => {
    this.#markSwept = resolve;
  });

  start(): void {
    this.#stopped = false;
    // The first sweep reads every pending entry, however young: a previous run of this instance may
    // have crashed a moment ago, and later sweeps leave entries younger than SWEEP_MIN_AGE_MS alone.
    this.#sweepAsked++;
    this.#nextSweep = 0;
    this.#schedule(0);
  }

  /**
   * Wakes the relay right after a write instead of waiting for the next poll. With a hint only that
   * document is fetched; without one the next pass sweeps every collection.
   */
  notify(hint?: OutboxHint): void {
    if (hint) {
      let ids = this.#hints.get(hint.collection);
      if (!ids) this.#hints.set(hint.collection, (ids = new Map()));
      const key = `${typeof hint.id}:${String(hint.id)}`;
      const before = ids.get(key);
      // Two writes to one document before a pass: its stored entries are read (both sets are there).
      ids.set(key, before ? { id: hint.id } : hint.entries ? { id: hint.id, entries: hint.entries } : { id: hint.id });
    } else {
      this.#nextSweep = 0;
      this.#sweepAsked++;
    }
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    await this.#unmarking;
  }

  /** One pass over the hinted documents and every collection; returns how many entries were published. Exposed for tests. */
  async drain(): Promise<number> {
    let total = await this.#drainHinted();
    for (const name of this.options.collections) total += await this.#drainCollection(name);
    total += await this.#sweepMarks();
    await this.#unmarking;
    return total;
  }

  /**
   * Hinted documents first; then, when due, a sweep. The sweep is a safety net (every writer hints
   * or calls notify()), and on FerretDB it reads every document of every collection, so once it
   * finds nothing or hints are flowing the next one is MAX_SWEEP_MS away (no back-off from
   * `intervalMs` first: that was several full reads in the first minute of a service's life); a sweep that finds
   * leftovers nobody hinted, or notify() without a hint, brings it back to `intervalMs`.
   */
  async #pass(): Promise<number> {
    const hinted = await this.#drainHinted();
    let total = hinted;
    if (Date.now() >= this.#nextSweep) {
      const base = this.options.intervalMs ?? 500;
      const asked = this.#sweepAsked;
      // A sweep nobody asked for looks only for entries a hint should have covered long ago (crash
      // leftovers, another instance's). Entries of the last seconds are on their way through hints:
      // sweeping them meant, under load, a full scan per 100 entries while they kept coming
      // (measured: bursts 4× faster with the sweep out of the way).
      const olderThan = asked !== this.#sweptAsked ? undefined : new Date(Date.now() - SWEEP_MIN_AGE_MS);
      this.#sweptAsked = asked;
      this.#nextSweep = Date.now() + base;
      let swept = 0;
      // A marked collection's embedded outbox holds only entries written before marks, or by an
      // instance that does not mark (an old one, during a rolling upgrade). On FerretDB sweeping it
      // reads every document of the collection — every report ever stored — while its marks are a
      // handful; so it is swept when asked (at start, after notify() without a hint) and otherwise
      // every EMBEDDED_SWEEP_MS, not every 30 s.
      const embedded = olderThan === undefined || Date.now() >= this.#nextEmbeddedSweep;
      if (embedded) this.#nextEmbeddedSweep = Date.now() + (this.options.embeddedSweepMs ?? EMBEDDED_SWEEP_MS);
      for (const name of this.options.collections) {
        if (!embedded && this.#marked.has(name)) continue;
        swept += await this.#drainCollection(name, olderThan);
      }
      swept += await this.#sweepMarks(olderThan);
      total += swept;
      // `swept` promises the marks of what it published are gone too.
      await this.#unmarking;
      this.#markSwept();
      if (this.#sweepAsked !== asked) return total;
      // Leftovers found: there may be more (a crash), look again soon. Otherwise hints carry
      // everything this instance writes and the next sweep is only for others' crashes.
      this.#nextSweep = Date.now() + (swept > 0 && hinted === 0 ? base : Math.max(base, this.options.maxSweepMs ?? MAX_SWEEP_MS));
    }
    return total;
  }

  #schedule(delay: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#pass()
        .then((n) => { if (n > 0) this.options.onPublished?.(n); })
        .catch((err) => this.options.logger.error({ err }, 'outbox relay pass failed; will retry'))
        .finally(() => {
          this.#running = undefined;
          if (this.#stopped) return;
          const again = this.#again || this.#hints.size > 0;
          this.#again = false;
          this.#schedule(again ? 0 : Math.max(0, Math.min(this.options.intervalMs ?? 500, this.#nextSweep - Date.now())));
        });
    }, delay);
  }

  async #drainHinted(): Promise<number> {
    let published = 0;
    const batch = this.options.batchSize ?? 100;
    for (const [name, ids] of [...this.#hints]) {
      this.#hints.delete(name);
      const coll = this.options.db.collection<WithOutbox & WithEvents & Document>(name);
      const marked = this.#marked.has(name);
      const all = [...ids.values()];
      try {
        // Entries handed over by the writer go out as they are; other hints are read by `_id`.
        const given = all.filter((h) => h.entries !== undefined && !h.entries.every((e) => this.#recent.has(e.id)));
        for (let i = 0; i < given.length; i += batch * 5) {
          const slice = given.slice(i, i + batch * 5);
          published += marked ? await this.#publishMarked(slice.flatMap((h) => h.entries!)) : await this.#publishDocs(name, slice.map((h) => ({ _id: h.id, outbox: h.entries })));
        }
        const toRead = all.filter((h) => h.entries === undefined);
        for (let i = 0; i < toRead.length; i += batch) {
          const slice = toRead.slice(i, i + batch);
          const docs = await coll.find({ _id: { $in: slice.map((h) => h.id) } } as Filter<WithOutbox & Document>, { projection: marked ? { outbox: 1, events: 1 } : { outbox: 1 } }).toArray();
          published += await this.#publishDocs(name, docs);
          if (marked) published += await this.#publishStillMarked(docs.flatMap((d) => (d.events ?? []) as OutboxEntry[]));
        }
      } catch (err) {
        // Keep the hints (without entries: they are read again) for the next pass; the sweep would find them anyway.
        for (const h of all) this.notify({ collection: name, id: h.id });
        throw err;
      }
    }
    return published;
  }

  async #drainCollection(name: string, olderThan?: Date): Promise<number> {
    const coll = (this.options.scanDb ?? this.options.db).collection<WithOutbox & Document>(name);
    const filter = olderThan ? { 'outbox.createdAt': { $lt: olderThan } } : ANY_PENDING;
    let published = 0;
    for (;;) {
      const docs = await coll
        .find(filter as Filter<WithOutbox & Document>, { projection: { outbox: 1 } })
        .limit(this.options.batchSize ?? 100)
        .toArray();
      if (docs.length === 0) return published;
      published += await this.#publishDocs(name, docs);
      if (docs.length < (this.options.batchSize ?? 100)) return published;
    }
  }

  /**
   * Publishes the entries of some documents (#publish), then removes exactly those entries.
   */
  async #publishDocs(name: string, docs: Array<WithOutbox & Document>): Promise<number> {
    const done: Array<{ _id: unknown; entries: OutboxEntry[] }> = [];
    for (const doc of docs) {
      const entries = (doc.outbox ?? []) as OutboxEntry[];
      if (entries.length > 0) done.push({ _id: doc._id, entries });
    }
    if (done.length === 0) return 0;
    await this.#publish(done.flatMap((d) => d.entries));
    // $pullAll with the entries exactly as stored: FerretDB 1.24 ignores a $pull with a condition
    // ({ id: { $in } }) and every entry would be republished on every pass. One update for many
    // documents: each pulls the union of the published entries, which removes exactly its own
    // (entry ids are unique). FerretDB needs the local stack's `_id: { $in }` patch for this not to
    // scan the collection; measured there, 200 documents in one updateMany took 0.9 ms each, 200
    // updateOnes 2.2 ms each (load average 24).
    const coll = this.options.db.collection(name);
    for (let i = 0; i < done.length; i += PULL_CHUNK) {
      const chunk = done.slice(i, i + PULL_CHUNK);
      const r = await coll.updateMany({ _id: { $in: chunk.map((d) => d._id) } } as Filter<Document>, { $pullAll: { outbox: chunk.flatMap((d) => d.entries) } } as Document);
      // Entries handed over by a writer compare equal to what it stored; if some ever do not, the
      // stored entries with the same ids are removed (already published: not published again).
      if (r.modifiedCount < chunk.length) await this.#pullById(coll, chunk);
    }
    return done.reduce((n, d) => n + d.entries.length, 0);
  }

  /**
   * Publishes entries of marked collections, then deletes their marks: one delete for many, where
   * the embedded outbox needs an update of every document.
   */
  async #publishMarked(entries: readonly OutboxEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    await this.#publish(entries);
    this.#unmark(entries.map((e) => e.id));
    return entries.length;
  }

  /**
   * All entries for one topic in one request, each under the trace context captured with it; the
   * entries of one document keep their order.
   */
  async #publish(entries: readonly OutboxEntry[]): Promise<void> {
    const byTopic = new Map<string, Array<{ event: EventEnvelope; carrier: Carrier }>>();
    for (const entry of entries) {
      let group = byTopic.get(entry.topic);
      if (!group) byTopic.set(entry.topic, (group = []));
      group.push(tracedEvent(entry));
    }
    for (const [topic, items] of byTopic) {
      await this.#publishTopic(topic, items);
      for (const { event } of items) this.#recent.add(event.id);
    }
  }

  /**
   * An entry whose event fails its schema can never be published, and it would fail the request of
   * every entry that shares it, on every pass, for ever (D16's shape on the HTTP path). It goes to
   * the dead-letter topic with its reasons, where operators see it, and counts as settled: its
   * document then drops it like a published one. The others go out.
   */
  async #publishTopic(topic: string, items: Array<{ event: EventEnvelope; carrier: Carrier }>): Promise<void> {
    try {
      await this.options.producer.publishTraced(topic, items);
    } catch (err) {
      if (!(err instanceof UnencodableEvents)) throw err;
      const { producer } = this.options;
      const bad = new Set(err.indices);
      await producer.publishRaw(Topics.deadLetter, err.indices.map((i, k) => {
        const { event } = items[i]!;
        return {
          key: typeof event.subject === 'string' ? event.subject : null,
          value: JSON.stringify(event),
          headers: {
            [Header.EVENT_TYPE]: String(event.type),
            [Header.EVENT_ID]: String(event.id),
            [Header.CONTENT_TYPE]: 'application/json',
            // The base name, as the consumers' dead letters give it.
            [Header.DLQ_ORIGINAL_TOPIC]: topic,
            [Header.DLQ_SOURCE]: 'outbox',
            [Header.DLQ_ERROR_CODE]: err.code,
            [Header.DLQ_ERROR_MESSAGE]: (err.reasons[k] ?? err.message).slice(0, 2000),
          },
        };
      }));
      this.options.logger.error({ topic, eventIds: err.indices.map((i) => items[i]!.event.id), reasons: err.reasons }, 'outbox entries whose events fail their schemas: dead-lettered, not published');
      const rest = items.filter((_, i) => !bad.has(i));
      if (rest.length > 0) await producer.publishTraced(topic, rest);
    }
  }

  #unmark(ids: string[]): void {
    this.#unmarking = this.#unmarking.then(async () => {
      try {
        await this.#marks.unmark(ids);
      } catch (err) {
        // The marks stay; a sweep publishes their entries again (same ids) and deletes them then.
        this.options.logger.error({ err, count: ids.length }, 'could not delete the marks of published outbox entries');
      }
    });
  }

  /** Of these recorded entries, publishes those still marked pending. */
  async #publishStillMarked(entries: readonly OutboxEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const pending = await this.#marks.pendingIds(entries.map((e) => e.id));
    return this.#publishMarked(entries.filter((e) => pending.has(e.id)));
  }

  /**
   * The marks of every marked collection (older than `olderThan`, when given), page by page: each
   * entry whose document holds it is published; a mark whose document does not is a write that did
   * not happen (yet), deleted once it is older than orphanAfterMs.
   */
  async #sweepMarks(olderThan?: Date): Promise<number> {
    if (this.#marked.size === 0) return 0;
    const read = this.options.scanDb ?? this.options.db;
    const marks = read.collection<PendingMark>(OUTBOX_PENDING);
    const batch = this.options.batchSize ?? 100;
    const orphanBefore = Date.now() - (this.options.orphanAfterMs ?? 3_600_000);
    let published = 0;
    let after: string | undefined;
    for (;;) {
      const filter: Filter<PendingMark> = {};
      if (olderThan) filter.createdAt = { $lt: olderThan };
      if (after !== undefined) filter._id = { $gt: after };
      const page = await marks.find(filter).sort({ _id: 1 }).limit(batch).toArray();
      if (page.length === 0) return published;
      after = page[page.length - 1]!._id;
      const byCollection = new Map<string, PendingMark[]>();
      for (const m of page) {
        if (!this.#marked.has(m.collection)) continue;
        let list = byCollection.get(m.collection);
        if (!list) byCollection.set(m.collection, (list = []));
        list.push(m);
      }
      const toPublish: OutboxEntry[] = [];
      const recentlyPublished: string[] = [];
      const orphans: string[] = [];
      for (const [name, list] of byCollection) {
        const docs = await read
          .collection<WithEvents & Document>(name)
          .find({ _id: { $in: [...new Set(list.map((m) => m.doc))] } } as Filter<Document>, { projection: { events: 1 } })
          .toArray();
        const entries = new Map(docs.flatMap((d) => ((d.events ?? []) as OutboxEntry[]).map((e) => [e.id, e] as const)));
        for (const m of list) {
          const entry = entries.get(m._id);
          // Published by this relay a moment ago, its mark's delete still queued or failed: only the mark goes.
          if (entry && this.#recent.has(entry.id)) recentlyPublished.push(entry.id);
          else if (entry) toPublish.push(entry);
          else if (m.createdAt.getTime() < orphanBefore) orphans.push(m._id);
        }
      }
      published += await this.#publishMarked(toPublish);
      if (recentlyPublished.length > 0) this.#unmark(recentlyPublished);
      if (orphans.length > 0) {
        (this.options.logger.warn ?? this.options.logger.error)({ count: orphans.length }, 'outbox marks of writes that never happened (their documents do not hold the entries); deleted');
        await this.#marks.unmark(orphans);
      }
      if (page.length < batch) return published;
    }
  }

  async #pullById(coll: ReturnType<Db['collection']>, chunk: Array<{ _id: unknown; entries: OutboxEntry[] }>): Promise<void> {
    const ids = new Set(chunk.flatMap((d) => d.entries.map((e) => e.id)));
    const docs = await coll.find({ _id: { $in: chunk.map((d) => d._id) }, 'outbox.id': { $in: [...ids] } } as Filter<Document>, { projection: { outbox: 1 } }).toArray();
    await mapLimit(docs, this.#concurrency, async (doc) => {
      const stored = ((doc.outbox ?? []) as OutboxEntry[]).filter((e) => ids.has(e.id));
      if (stored.length === 0) return;
      this.options.logger.debug({ collection: coll.collectionName, count: stored.length }, 'published outbox entries not removed by the batch update; removed one by one');
      await coll.updateOne({ _id: doc._id } as Filter<Document>, { $pullAll: { outbox: stored } } as Document);
    });
  }
}
