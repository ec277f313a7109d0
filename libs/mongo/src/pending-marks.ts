import type { Collection, Db, Filter } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import type { CollectionIndexes } from './client';
import { InsertBatcher } from './insert-batcher';
import type { OutboxEntry } from './outbox';

/** Ids per delete / lookup: the local stack's FerretDB narrows `_id: { $in }` in SQL up to 1,000 values. */
const ID_CHUNK = 500;

/**
 * Marked outbox: for collections whose documents get their events when they are inserted (intake's
 * reports, hash-check's report checks), the entries stay in the document (`events`, the record of
 * what the change announced) and a small mark per entry in `outbox_pending` says which ones still
 * wait for the relay. Publishing deletes the marks instead of rewriting the document.
 *
 * Why: removing an entry from its document is an update, and FerretDB reads, decodes, re-encodes
 * and rewrites the whole document for it. On the pipeline benchmark those removals were most of the
 * database's work: with them skipped (and the sweeps off), database CPU per report went 2.28 ->
 * 0.51 ms and the burst 463 -> 1,228 reports/s (test/bench/pipeline.infra.bench.ts, back-to-back
 * runs, load average < 2); with marks, 0.72 - 0.92 ms and 842 - 1,052 reports/s.
 *
 * The mark is written BEFORE the document. A crash between the two leaves a mark whose document
 * does not hold the entry: the relay publishes nothing for it and deletes it once it is older than
 * any write can take (OutboxRelayOptions.orphanAfterMs). A crash after the document leaves a mark
 * and an entry: the relay publishes it. Nothing is written after the document that recovery needs.
 */
export const OUTBOX_PENDING = 'outbox_pending';

export interface PendingMark {
  /** The entry's (event's) id. */
  _id: string;
  collection: string;
  doc: unknown;
  createdAt: Date;
}

/** Documents of a marked collection: the events their change announced, published or not. */
export interface WithEvents {
  events?: OutboxEntry[];
}

/** The sweeps look for marks by age (MongoDB; FerretDB reads the few pending marks whatever the index). */
export const OUTBOX_PENDING_INDEXES: CollectionIndexes = { collection: OUTBOX_PENDING, indexes: [{ key: { createdAt: 1 }, name: 'by_age' }] };

/**
 * Which of these `_id`s a collection holds. A find, not countDocuments: FerretDB narrows a find by
 * `_id: { $in }` in SQL (the local stack's patch), not an aggregation's $match.
 */
export async function existingIds<T extends { _id: string }>(coll: Collection<T>, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const page = await coll.find({ _id: { $in: ids.slice(i, i + ID_CHUNK) } } as Filter<T>, { projection: { _id: 1 } }).toArray();
    for (const d of page) found.add(d._id as string);
  }
  return found;
}

/** The writer's side: marks entries pending before their document is written. */
export class PendingMarks {
  readonly marks: Collection<PendingMark>;
  readonly #inserts: InsertBatcher<PendingMark>;

  constructor(db: Db) {
    this.marks = db.collection<PendingMark>(OUTBOX_PENDING);
    // Concurrent writes (a consumer batch) share one insertMany, as their documents do.
    this.#inserts = new InsertBatcher(this.marks);
  }

  /**
   * Marks `entries` of document `doc` in `collection` pending; call before writing the document.
   * Returns the ids this call marked: an id marked already (the same event written by another
   * attempt that is still pending) belongs to that attempt and is not returned.
   */
  async mark(collection: string, doc: unknown, entries: ReadonlyArray<Pick<OutboxEntry, 'id'>>): Promise<string[]> {
    const createdAt = new Date();
    const results = await Promise.allSettled(entries.map((e) => this.#inserts.insert({ _id: e.id, collection, doc, createdAt })));
    const owned: string[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') owned.push(entries[i]!.id);
      else if (!isDuplicateKeyError(r.reason)) throw r.reason;
    });
    return owned;
  }

  /**
   * The writer's whole protocol for a new document of a marked collection: mark its `events`
   * (unless `marked` says which this writer marked already, e.g. while it did other work), insert it
   * through `inserts`, and on a duplicate (the document is there already: a redelivery, a replay)
   * take back the marks this writer made and return the duplicate-key error. Any other failure is
   * thrown and keeps the marks: the document may have been stored.
   */
  async insert<T extends WithEvents & { _id: unknown }>(inserts: InsertBatcher<T>, collection: string, doc: T, marked?: string[]): Promise<{ duplicate?: unknown }> {
    const owned = marked ?? (await this.mark(collection, doc._id, doc.events ?? []));
    try {
      await inserts.insert(doc as Parameters<InsertBatcher<T>['insert']>[0]);
      return {};
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      await this.unmark(owned);
      return { duplicate: err };
    }
  }

  /**
   * Deletes marks: those a writer made for a write that did not happen because the document was
   * there already (that document's entries are tracked by their own marks), and those of published
   * entries (the relay). Not for a write that failed otherwise: it may have been stored.
   */
  async unmark(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += ID_CHUNK) await this.marks.deleteMany({ _id: { $in: ids.slice(i, i + ID_CHUNK) } });
  }

  /** Which of these ids are still marked pending. */
  pendingIds(ids: readonly string[]): Promise<Set<string>> {
    return existingIds(this.marks, ids);
  }

  /** How many of these entries still wait for the relay. */
  async countPending(entries: readonly OutboxEntry[] | undefined): Promise<number> {
    return entries && entries.length > 0 ? (await this.pendingIds(entries.map((e) => e.id))).size : 0;
  }
}
