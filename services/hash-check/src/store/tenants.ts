import type { Collection, Db, Document } from 'mongodb';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import type { HashType } from '@hashcheck/hash-index';
import { generateApiKey, keyIdOf, sameHash, sha256Hex, type Scope } from '../domain/api-keys';
import { CheckCode } from '../domain/codes';
import { dayOf } from '../domain/ids';
import type { CollectionIndexes } from '@hashcheck/mongo';
import { Collections } from './collections';

export type TenantKind = 'hosting' | 'hotline' | 'admin';

export interface TenantDoc {
  _id: string;
  name: string;
  kind: TenantKind;
  status: 'active' | 'suspended';
  /** Requests per minute; the service default when absent. */
  rateLimitPerMinute?: number | undefined;
  contact?: string | undefined;
  createdAt: Date;
  createdBy: string;
}

export interface ApiKeyDoc {
  _id: string;
  tenantId: string;
  name: string;
  scopes: Scope[];
  /** SHA-256 of the whole key; the key itself is shown once, at creation. */
  sha256: string;
  createdAt: Date;
  createdBy: string;
  revokedAt?: Date;
  revokedBy?: string;
}

export type AuditChannel = 'bulk' | 'eokm' | 'report';

export interface AuditDoc {
  tenantId: string;
  at: Date;
  hashType: HashType;
  listId: string;
  channel: AuditChannel;
}

export interface UsageDoc {
  _id: string;
  tenantId: string;
  day: string;
  requests: number;
  queries: number;
  matches: number;
  nonMatches: number;
  invalid: number;
  byType: Record<HashType, number>;
}

export const TENANT_INDEXES: CollectionIndexes[] = [
  { collection: Collections.API_KEYS, indexes: [{ key: { tenantId: 1 }, name: 'by_tenant' }] },
  { collection: Collections.USAGE, indexes: [{ key: { tenantId: 1, day: -1 }, name: 'by_tenant_day' }] },
  { collection: Collections.AUDIT, indexes: [{ key: { tenantId: 1, at: -1 }, name: 'by_tenant_time' }, { key: { at: -1 }, name: 'by_time' }] },
];

export interface AuthenticatedKey {
  key: ApiKeyDoc;
  tenant: TenantDoc;
}

/** Tenants (hosting companies, hotline teams), their API keys, usage counters and the match audit. */
export class TenantStore {
  readonly tenants: Collection<TenantDoc>;
  readonly keys: Collection<ApiKeyDoc>;
  readonly usage: Collection<UsageDoc>;
  readonly audit: Collection<AuditDoc>;
  private readonly cache = new Map<string, { at: number; value: AuthenticatedKey | null }>();

  constructor(
    db: Db,
    private readonly cacheMs: number,
  ) {
    this.tenants = db.collection<TenantDoc>(Collections.TENANTS);
    this.keys = db.collection<ApiKeyDoc>(Collections.API_KEYS);
    this.usage = db.collection<UsageDoc>(Collections.USAGE);
    this.audit = db.collection<AuditDoc>(Collections.AUDIT);
  }

  async createTenant(t: Omit<TenantDoc, 'createdAt' | 'createdBy' | 'status'> & { status?: TenantDoc['status'] }, by: string): Promise<TenantDoc> {
    const doc: TenantDoc = { status: 'active', ...t, createdAt: new Date(), createdBy: by };
    try {
      await this.tenants.insertOne(doc);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new HashCheckError(ErrorCode.CONFLICT, `tenant ${t._id} exists already`);
      throw err;
    }
    return doc;
  }

  async getTenant(id: string): Promise<TenantDoc> {
    const doc = await this.tenants.findOne({ _id: id });
    if (!doc) throw new HashCheckError(CheckCode.TENANT_NOT_FOUND, `no tenant ${id}`, { statusCode: 404 });
    return doc;
  }

  async listTenants(): Promise<TenantDoc[]> {
    return this.tenants.find({}).sort({ _id: 1 }).toArray();
  }

  async updateTenant(id: string, patch: Partial<Pick<TenantDoc, 'name' | 'status' | 'rateLimitPerMinute' | 'contact'>>): Promise<TenantDoc> {
    const set: Document = {};
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) set[k] = v;
    const r = await this.tenants.updateOne({ _id: id }, { $set: set });
    if (r.matchedCount === 0) throw new HashCheckError(CheckCode.TENANT_NOT_FOUND, `no tenant ${id}`, { statusCode: 404 });
    this.cache.clear();
    return this.getTenant(id);
  }

  /** Issues a key; the clear key is returned once and never stored. */
  async issueKey(tenantId: string, name: string, scopes: Scope[], by: string): Promise<{ key: string; doc: ApiKeyDoc }> {
    await this.getTenant(tenantId);
    const { keyId, key, sha256 } = generateApiKey();
    const doc: ApiKeyDoc = { _id: keyId, tenantId, name, scopes, sha256, createdAt: new Date(), createdBy: by };
    await this.keys.insertOne(doc);
    return { key, doc };
  }

  async listKeys(tenantId: string): Promise<ApiKeyDoc[]> {
    return this.keys.find({ tenantId }, { projection: { sha256: 0 } }).sort({ createdAt: 1 }).toArray();
  }

  async revokeKey(tenantId: string, keyId: string, by: string): Promise<ApiKeyDoc> {
    const r = await this.keys.updateOne({ _id: keyId, tenantId, revokedAt: { $exists: false } }, { $set: { revokedAt: new Date(), revokedBy: by } });
    this.cache.delete(keyId);
    const doc = await this.keys.findOne({ _id: keyId, tenantId }, { projection: { sha256: 0 } });
    if (!doc) throw new HashCheckError(CheckCode.KEY_NOT_FOUND, `no key ${keyId} of tenant ${tenantId}`, { statusCode: 404 });
    if (r.matchedCount === 0 && doc.revokedAt === undefined) throw new HashCheckError(ErrorCode.CONFLICT, `key ${keyId} could not be revoked`);
    return doc;
  }

  /**
   * Finds the active key and tenant for a presented key. Results are cached briefly (AUTH_CACHE_MS),
   * which bounds how long a revocation takes to reach other instances.
   */
  async authenticate(presented: string): Promise<AuthenticatedKey | null> {
    const keyId = keyIdOf(presented);
    if (keyId === undefined) return null;
    const now = Date.now();
    const hit = this.cache.get(keyId);
    let found: AuthenticatedKey | null;
    if (hit && now - hit.at < this.cacheMs) {
      found = hit.value;
    } else {
      const key = await this.keys.findOne({ _id: keyId });
      const tenant = key && !key.revokedAt ? await this.tenants.findOne({ _id: key.tenantId }) : null;
      found = key && tenant && !key.revokedAt && tenant.status === 'active' ? { key, tenant } : null;
      if (this.cacheMs > 0) {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(keyId, { at: now, value: found });
      }
    }
    if (found === null || !sameHash(found.key.sha256, sha256Hex(presented))) return null;
    return found;
  }

  /**
   * One request's counts: queries per type, matches and non-matches. Non-matching hashes are only
   * counted, never stored.
   */
  async count(tenantId: string, c: { queries: number; matches: number; invalid: number; byType: Record<HashType, number> }): Promise<void> {
    const day = dayOf(new Date());
    await this.usage.updateOne(
      { _id: `${tenantId}:${day}` },
      {
        $inc: {
          requests: 1,
          queries: c.queries,
          matches: c.matches,
          nonMatches: c.queries - c.matches,
          invalid: c.invalid,
          'byType.md5': c.byType.md5,
          'byType.sha1': c.byType.sha1,
          'byType.sha256': c.byType.sha256,
          'byType.pdq': c.byType.pdq,
        },
        $setOnInsert: { tenantId, day },
      },
      { upsert: true },
    );
  }

  /** Records matches: tenant, time, hash type and list. Never the hash. */
  async recordMatches(tenantId: string, channel: AuditChannel, matched: { type: HashType; lists: string[] }[]): Promise<void> {
    if (matched.length === 0) return;
    const at = new Date();
    const docs: AuditDoc[] = [];
    for (const m of matched) for (const listId of new Set(m.lists)) docs.push({ tenantId, at, hashType: m.type, listId, channel });
    await this.audit.insertMany(docs, { ordered: false });
  }

  async usageOf(tenantId: string, days = 31): Promise<UsageDoc[]> {
    return this.usage.find({ tenantId }).sort({ day: -1 }).limit(days).toArray();
  }

  async auditOf(filter: { tenantId?: string | undefined; from?: Date | undefined; to?: Date | undefined }, limit: number): Promise<(AuditDoc & { _id: unknown })[]> {
    const q: Document = {};
    if (filter.tenantId) q.tenantId = filter.tenantId;
    if (filter.from || filter.to) q.at = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    return this.audit.find(q).sort({ at: -1 }).limit(limit).toArray() as Promise<(AuditDoc & { _id: unknown })[]>;
  }
}
