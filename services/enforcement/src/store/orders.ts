import type { Collection, Db } from 'mongodb';
import type { CollectionIndexes } from '@hashcheck/mongo';
import type { DeadlineOrder } from '../domain/policy';

export const ORDERS = 'deadline_orders';

/** A regulator's order setting a provider's removal deadline (e.g. 1 hour), by reference. */
export interface OrderDocument {
  _id: string;
  providerId: string;
  deadlineMs: number;
  reference: string;
  validFrom: Date;
  validUntil: Date | null;
  createdBy: string;
  createdAt: Date;
}

export const ORDER_INDEXES: CollectionIndexes = { collection: ORDERS, indexes: [{ key: { providerId: 1 }, name: 'by_provider' }] };

export class OrderStore {
  readonly coll: Collection<OrderDocument>;

  constructor(db: Db) {
    this.coll = db.collection<OrderDocument>(ORDERS);
  }

  async forProvider(providerId: string): Promise<DeadlineOrder[]> {
    const docs = await this.coll.find({ providerId }).toArray();
    return docs.map((d) => ({ providerId: d.providerId, deadlineMs: d.deadlineMs, reference: d.reference, validFrom: d.validFrom, validUntil: d.validUntil }));
  }

  /** Orders are keyed by the regulator's reference: putting the same reference again replaces it. */
  async put(order: Omit<OrderDocument, '_id' | 'createdAt'>, now: Date): Promise<OrderDocument> {
    const doc: OrderDocument = { _id: order.reference, ...order, createdAt: now };
    await this.coll.replaceOne({ _id: doc._id }, doc, { upsert: true });
    return doc;
  }

  async list(): Promise<OrderDocument[]> {
    return this.coll.find({}).sort({ providerId: 1, validFrom: 1 }).toArray();
  }

  async remove(reference: string): Promise<boolean> {
    return (await this.coll.deleteOne({ _id: reference })).deletedCount === 1;
  }
}
