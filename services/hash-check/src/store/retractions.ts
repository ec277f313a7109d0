import type { Collection, Db } from 'mongodb';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import type { HashesRetractionRequestedData } from '@hashcheck/events';
import type { CollectionIndexes } from '@hashcheck/mongo';
import { Collections } from './collections';

export interface RetractionDoc {
  _id: string;
  request: HashesRetractionRequestedData;
  status: 'pending' | 'approved' | 'rejected';
  receivedAt: Date;
  decidedAt?: Date;
  decidedBy?: string;
  note?: string;
  /** Delta releases the approval created. */
  releases?: string[];
}

export const RETRACTION_INDEXES: CollectionIndexes[] = [{ collection: Collections.RETRACTIONS, indexes: [{ key: { status: 1, receivedAt: -1 }, name: 'by_status' }] }];

/** Retraction requests from enforcement (upheld false-positive disputes), waiting for a hotline decision. */
export class RetractionStore {
  readonly requests: Collection<RetractionDoc>;

  constructor(db: Db) {
    this.requests = db.collection<RetractionDoc>(Collections.RETRACTIONS);
  }

  async receive(data: HashesRetractionRequestedData): Promise<boolean> {
    try {
      await this.requests.insertOne({ _id: data.requestId, request: data, status: 'pending', receivedAt: new Date() });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async list(status?: RetractionDoc['status']): Promise<RetractionDoc[]> {
    return this.requests.find(status ? { status } : {}).sort({ receivedAt: -1 }).limit(1000).toArray();
  }

  async get(id: string): Promise<RetractionDoc> {
    const doc = await this.requests.findOne({ _id: id });
    if (!doc) throw new HashCheckError(ErrorCode.NOT_FOUND, `no retraction request ${id}`);
    return doc;
  }

  async decide(id: string, status: 'approved' | 'rejected', by: string, note: string | undefined, releases: string[]): Promise<RetractionDoc> {
    const r = await this.requests.updateOne({ _id: id, status: 'pending' }, { $set: { status, decidedAt: new Date(), decidedBy: by, ...(note !== undefined ? { note } : {}), releases } });
    if (r.matchedCount === 0) throw new HashCheckError(ErrorCode.CONFLICT, `retraction request ${id} was decided already`);
    return this.get(id);
  }
}
