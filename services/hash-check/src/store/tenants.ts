import type { Collection, Db, Document } from 'mongodb';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import { digestsEqual, sha256Hex } from '@hashcheck/auth';
import type { HashType } from '@hashcheck/hash-index';
import { generateApiKey, keyIdOf, type Scope } from '../domain/api-keys';
import { CheckCode } from '../domain/codes';
import { dayOf } from '../domain/ids';
import type { MatchTally } from '../domain/bulk-check';
import { writeErrorsOf, type CollectionIndexes } from '@hashcheck/mongo';
import { Collections } from './collections';

const HASH_TYPE_LIST = ['md5', 'sha1', 'sha256', 'pdq'] as const;
/** How long the audit waits to group concurrent requests' matches into one insert. */
const AUDIT_GROUP_MS = 5;

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

/** Matches of one request (or report) for one (hash type, list): who, when, what kind, which list, how many. */
export interface AuditDoc {
  /** Set when the matches belong to something that may be seen twice (a redelivered report), so they count once. */
  _id?: string;
  tenantId: string;
  at: Date;
  hashType: HashType;
  listId: string;
  channel: AuditChannel;
  count: number;
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

/** One tenant's counts of one day, not yet written. */
interface PendingUsage { tenantId: string; day: string; requests: number; queries: number; matches: number; invalid: number; byType: Record<HashType, number> }

/** Tenants (hosting companies, hotline teams), their API keys, usage counters and the match audit. */
export class TenantStore {
  readonly tenants: Collection<TenantDoc>;
  readonly keys: Collection<ApiKeyDoc>;
  readonly usage: Collection<UsageDoc>;
  readonly audit: Collection<AuditDoc>;
  private readonly cache = new Map<string, { at: number; value: AuthenticatedKey | null }>();
  private readonly pendingUsage = new Map<string, PendingUsage>();
  private auditQueue: AuditDoc[] = [];
  private auditWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private auditTimer: NodeJS.Timeout | undefined;

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
    if (found === null || !digestsEqual(found.key.sha256, sha256Hex(presented))) return null;
    return found;
  }

  /**
   * One request's counts: queries per type, matches and non-matches. Non-matching hashes are only
   * counted, never stored. Counts are summed in memory and written once a second per tenant and
   * day (`flushUsage`), so a busy tenant costs one small update per second, not one per request;
   * a crash loses at most the last second of counts.
   */
  count(tenantId: string, c: { queries: number; matches: number; invalid: number; byType: Record<HashType, number> }): void {
    const day = dayOf(new Date());
    const k = `${tenantId}:${day}`;
    let u = this.pendingUsage.get(k);
    if (u === undefined) {
      u = { tenantId, day, requests: 0, queries: 0, matches: 0, invalid: 0, byType: { md5: 0, sha1: 0, sha256: 0, pdq: 0 } };
      this.pendingUsage.set(k, u);
    }
    u.requests++;
    u.queries += c.queries;
    u.matches += c.matches;
    u.invalid += c.invalid;
    for (const t of HASH_TYPE_LIST) u.byType[t] += c.byType[t];
  }

  /**
   * Writes the summed counts. A failed update puts back its counts and those of every key not yet
   * written (merged with what came in since), for the next flush.
   */
  async flushUsage(): Promise<void> {
    const pending = [...this.pendingUsage.entries()];
    this.pendingUsage.clear();
    for (let i = 0; i < pending.length; i++) {
      const [k, u] = pending[i]!;
      try {
        await this.usage.updateOne(
          { _id: k },
          {
            $inc: {
              requests: u.requests,
              queries: u.queries,
              matches: u.matches,
              nonMatches: u.queries - u.matches,
              invalid: u.invalid,
              'byType.md5': u.byType.md5,
              'byType.sha1': u.byType.sha1,
              'byType.sha256': u.byType.sha256,
              'byType.pdq': u.byType.pdq,
            },
            $setOnInsert: { tenantId: u.tenantId, day: u.day },
          },
          { upsert: true },
        );
      } catch (err) {
        for (const [key, unwritten] of pending.slice(i)) this.#putBack(key, unwritten);
        throw err;
      }
    }
  }

  #putBack(k: string, u: PendingUsage): void {
    const again = this.pendingUsage.get(k);
    if (!again) {
      this.pendingUsage.set(k, u);
      return;
    }
    again.requests += u.requests;
    again.queries += u.queries;
    again.matches += u.matches;
    again.invalid += u.invalid;
    for (const t of HASH_TYPE_LIST) again.byType[t] += u.byType[t];
  }

  /**
   * Records matches: tenant, time, hash type, list and how many (one document per type and list of
   * a request). Never the hash. Resolves once written: requests arriving within a few milliseconds
   * share one insert (group commit), so matches are durable before the answer goes out.
   *
   * `once`: an id of what matched (the report pipeline passes the accepted event's id); the records
   * are then written under ids derived from it and the same matches recorded again count once.
   */
  recordMatches(tenantId: string, channel: AuditChannel, tallies: readonly MatchTally[], once?: string): Promise<void> {
    if (tallies.length === 0) return Promise.resolve();
    const at = new Date();
    for (const t of tallies) {
      const doc: AuditDoc = { tenantId, at, hashType: t.type, listId: t.list, channel, count: t.count };
      if (once !== undefined) doc._id = `${once}:${t.type}:${t.list}`;
      this.auditQueue.push(doc);
    }
    return new Promise<void>((resolve, reject) => {
      this.auditWaiters.push({ resolve, reject });
      this.auditTimer ??= setTimeout(() => void this.flushAudit(), AUDIT_GROUP_MS);
    });
  }

  private async flushAudit(): Promise<void> {
    this.auditTimer = undefined;
    const docs = this.auditQueue;
    const waiters = this.auditWaiters;
    this.auditQueue = [];
    this.auditWaiters = [];
    try {
      if (docs.length > 0) await this.audit.insertMany(docs, { ordered: false });
      for (const w of waiters) w.resolve();
    } catch (err) {
      // Records already there (matches recorded `once` before) are what was asked for; the others of
      // an unordered insert were written. Anything else, or an error without per-document answers
      // (a connection lost: nothing is known to be written), fails every waiter.
      const writeErrors = writeErrorsOf(err);
      const onlyRepeats = writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000);
      for (const w of waiters) {
        if (onlyRepeats) w.resolve();
        else w.reject(err);
      }
    }
  }

  async usageOf(tenantId: string, days = 31): Promise<UsageDoc[]> {
    await this.flushUsage();
    return this.usage.find({ tenantId }).sort({ day: -1 }).limit(days).toArray();
  }

  async auditOf(filter: { tenantId?: string | undefined; from?: Date | undefined; to?: Date | undefined }, limit: number): Promise<(AuditDoc & { _id: unknown })[]> {
    const q: Document = {};
    if (filter.tenantId) q.tenantId = filter.tenantId;
    if (filter.from || filter.to) q.at = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    return this.audit.find(q).sort({ at: -1 }).limit(limit).toArray() as Promise<(AuditDoc & { _id: unknown })[]>;
  }
}
