import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import type { CollectionIndexes } from '@hashcheck/mongo';

/**
 * Leases taken by inserting a document with a unique id. FerretDB 1.24 applies a single-document
 * update as read-modify-write without isolation (measured: 8 concurrent `$inc` end at 1, and 8
 * concurrent `findOneAndUpdate` claims all succeed), so an update cannot arbitrate who owns a
 * notice. A duplicate-key insert can, on FerretDB and on MongoDB alike.
 *
 * A lease on `resource` is the document `<resource>#<n>`. Whoever inserts it owns the resource
 * until `until`; after that, the next taker inserts `<resource>#<n+1>`, which again only one can.
 */
export interface LeaseDocument {
  _id: string;
  resource: string;
  n: number;
  owner: string;
  until: Date;
}

export interface Lease {
  id: string;
  resource: string;
  until: Date;
}

export const LEASES = 'leases';
export const LEASE_INDEXES: CollectionIndexes = { collection: LEASES, indexes: [{ key: { resource: 1, n: -1 }, name: 'by_resource' }] };

export class Leases {
  readonly #leases: Collection<LeaseDocument>;

  constructor(db: Db, private readonly owner: string) {
    this.#leases = db.collection<LeaseDocument>(LEASES);
  }

  async acquire(resource: string, now: Date, ttlMs: number): Promise<Lease | undefined> {
    // Read the newest link first: an insert-first shortcut could re-create #0 after its holder
    // deleted it while a later link (#1) is still held.
    const latest = await this.#leases.find({ resource }).sort({ n: -1 }).limit(1).next();
    if (latest && latest.until.getTime() > now.getTime()) return undefined;
    return this.#insert(resource, latest ? latest.n + 1 : 0, now, ttlMs);
  }

  async #insert(resource: string, n: number, now: Date, ttlMs: number): Promise<Lease | undefined> {
    const doc: LeaseDocument = { _id: `${resource}#${n}`, resource, n, owner: this.owner, until: new Date(now.getTime() + ttlMs) };
    try {
      await this.#leases.insertOne(doc);
      return { id: doc._id, resource, until: doc.until };
    } catch (err) {
      if (isDuplicateKeyError(err)) return undefined;
      throw err;
    }
  }

  /** Ends the lease: the holder removes its own link (by _id, the cheap path on FerretDB). */
  async release(lease: Lease): Promise<void> {
    await this.#leases.deleteOne({ _id: lease.id });
  }
}
