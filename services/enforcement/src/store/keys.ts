import type { Collection, Db } from 'mongodb';
import { parseApiKey } from '@hashcheck/auth';
import type { CollectionIndexes } from '@hashcheck/mongo';
import { issueKey, secretMatches, type ScopeValue } from '../domain/api-keys';

export const KEYS = 'api_keys';

export interface KeyDocument {
  _id: string;
  scope: ScopeValue;
  providerId: string | null;
  /** Who holds it (officer or analyst reference, provider contact); recorded as the actor in evidence. */
  label: string;
  secretHash: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface Principal {
  keyId: string;
  scope: ScopeValue;
  providerId: string | null;
  label: string;
}

export const KEY_INDEXES: CollectionIndexes = { collection: KEYS, indexes: [{ key: { providerId: 1 }, name: 'by_provider' }] };

export class KeyStore {
  readonly coll: Collection<KeyDocument>;

  constructor(db: Db) {
    this.coll = db.collection<KeyDocument>(KEYS);
  }

  async issue(input: { scope: ScopeValue; providerId: string | null; label: string }, now: Date): Promise<{ keyId: string; key: string }> {
    const k = issueKey();
    await this.coll.insertOne({ _id: k.keyId, scope: input.scope, providerId: input.providerId, label: input.label, secretHash: k.secretHash, createdAt: now, revokedAt: null });
    return { keyId: k.keyId, key: k.key };
  }

  async authenticate(key: string): Promise<Principal | undefined> {
    const parsed = parseApiKey(key);
    if (!parsed) return undefined;
    const doc = await this.coll.findOne({ _id: parsed.keyId });
    if (!doc || doc.revokedAt || !secretMatches(parsed.secret, doc.secretHash)) return undefined;
    return { keyId: doc._id, scope: doc.scope, providerId: doc.providerId, label: doc.label };
  }

  async revoke(keyId: string, now: Date): Promise<boolean> {
    return (await this.coll.updateOne({ _id: keyId, revokedAt: null }, { $set: { revokedAt: now } })).modifiedCount === 1;
  }

  async list(): Promise<Array<Omit<KeyDocument, 'secretHash'>>> {
    return this.coll.find({}, { projection: { secretHash: 0 } }).sort({ createdAt: 1 }).toArray();
  }
}
