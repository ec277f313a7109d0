import type { Collection, Db } from 'mongodb';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import { createEvent, ProvidersState, Topics, type EncryptedSecretValue, type ProvidersStateData } from '@hashcheck/events';
import { OUTBOX_INDEX, outboxEntry, type CollectionIndexes, type WithOutbox } from '@hashcheck/mongo';
import { encryptSecret, type SecretKey } from '@hashcheck/providers';
import { deterministicUuid } from '../domain/ids';
import type { NormalisedProvider } from '../domain/provider-input';
import { Collections, SERVICE_SOURCE } from './reports';

/** The registry's own copy: the source of truth the compacted topic is published from. */
export interface ProviderDocument extends WithOutbox {
  _id: string;
  revision: number;
  state: ProvidersStateData;
}

export const PROVIDER_INDEXES: CollectionIndexes[] = [
  { collection: Collections.PROVIDERS, indexes: [OUTBOX_INDEX, { key: { 'state.domains': 1 }, name: 'by_domain' }, { key: { 'state.ipRanges': 1 }, name: 'by_range' }] },
];

/** What the API shows of a provider: the webhook secret never leaves, only whether one is set. */
export interface ProviderView extends Omit<ProvidersStateData, 'webhook'> {
  webhook?: { url: string; hasSecret: boolean };
}

export function viewOf(state: ProvidersStateData): ProviderView {
  const { webhook, ...rest } = state;
  return webhook ? { ...rest, webhook: { url: webhook.url, hasSecret: webhook.secret !== undefined } } : rest;
}

export class ProviderStore {
  readonly coll: Collection<ProviderDocument>;

  constructor(db: Db, private readonly secretKey: SecretKey | undefined) {
    this.coll = db.collection<ProviderDocument>(Collections.PROVIDERS);
  }

  async get(id: string): Promise<ProvidersStateData | null> {
    const doc = await this.coll.findOne({ _id: id }, { projection: { outbox: 0 } });
    return doc && !doc.state.deleted ? doc.state : null;
  }

  async list(): Promise<ProvidersStateData[]> {
    const docs = await this.coll.find({ 'state.deleted': { $ne: true } }, { projection: { outbox: 0 } }).sort({ _id: 1 }).toArray();
    return docs.map((d) => d.state);
  }

  /** Creates a provider, or brings back a deleted one under the same id. */
  async create(id: string, input: NormalisedProvider): Promise<ProvidersStateData> {
    const existing = await this.coll.findOne({ _id: id }, { projection: { outbox: 0 } });
    if (existing && !existing.state.deleted) throw new HashCheckError(ErrorCode.CONFLICT, `provider ${id} already exists; use PATCH to change it`);
    await this.#checkClaims(id, input.domains, input.ipRanges);
    const state = this.#state(id, input, (existing?.revision ?? 0) + 1, undefined);
    if (existing) return this.#write(existing.revision, state);
    const event = this.#event(state);
    try {
      await this.coll.insertOne({ _id: id, revision: state.revision, state, outbox: [outboxEntry(Topics.providers, event)] });
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new HashCheckError(ErrorCode.CONFLICT, `provider ${id} was created concurrently`);
      throw err;
    }
    return state;
  }

  async update(id: string, patch: (current: ProvidersStateData) => NormalisedProvider): Promise<ProvidersStateData> {
    const existing = await this.coll.findOne({ _id: id }, { projection: { outbox: 0 } });
    if (!existing || existing.state.deleted) throw new HashCheckError(ErrorCode.NOT_FOUND, `no provider ${id}`);
    const input = patch(existing.state);
    await this.#checkClaims(id, input.domains, input.ipRanges);
    return this.#write(existing.revision, this.#state(id, input, existing.revision + 1, existing.state.webhook?.secret));
  }

  /** Deletion is a state (deleted: true), not a tombstone, so every view learns of it and history stays. */
  async delete(id: string): Promise<ProvidersStateData> {
    const existing = await this.coll.findOne({ _id: id }, { projection: { outbox: 0 } });
    if (!existing || existing.state.deleted) throw new HashCheckError(ErrorCode.NOT_FOUND, `no provider ${id}`);
    const state: ProvidersStateData = { ...existing.state, deleted: true, revision: existing.revision + 1, updatedAt: new Date().toISOString() };
    delete state.webhook;
    return this.#write(existing.revision, state);
  }

  async #write(expectedRevision: number, state: ProvidersStateData): Promise<ProvidersStateData> {
    const res = await this.coll.updateOne(
      { _id: state.id, revision: expectedRevision },
      { $set: { state, revision: state.revision }, $push: { outbox: outboxEntry(Topics.providers, this.#event(state)) } },
    );
    if (res.matchedCount === 0) throw new HashCheckError(ErrorCode.CONFLICT, `provider ${state.id} changed concurrently; retry`);
    return state;
  }

  /** A domain or range names one provider; a more specific one (sub-domain, longer prefix) may go to another. */
  async #checkClaims(id: string, domains: string[], ranges: string[]): Promise<void> {
    if (domains.length === 0 && ranges.length === 0) return;
    const or: object[] = [];
    if (domains.length > 0) or.push({ 'state.domains': { $in: domains } });
    if (ranges.length > 0) or.push({ 'state.ipRanges': { $in: ranges } });
    const others = await this.coll.find({ _id: { $ne: id }, 'state.deleted': { $ne: true }, $or: or }, { projection: { state: 1 } }).toArray();
    if (others.length === 0) return;
    const reasons: string[] = [];
    for (const o of others) {
      for (const d of o.state.domains) if (domains.includes(d)) reasons.push(`domain ${d} belongs to provider ${o._id}`);
      for (const r of o.state.ipRanges) if (ranges.includes(r)) reasons.push(`ipRange ${r} belongs to provider ${o._id}`);
    }
    throw new HashCheckError(ErrorCode.CONFLICT, 'domains or IP ranges are claimed by another provider', { details: { reasons } });
  }

  #state(id: string, input: NormalisedProvider, revision: number, keptSecret: EncryptedSecretValue | undefined): ProvidersStateData {
    const state: ProvidersStateData = {
      id,
      name: input.name,
      country: input.country,
      abuseContacts: input.abuseContacts,
      domains: input.domains,
      ipRanges: input.ipRanges,
      category: input.category,
      revision,
      updatedAt: new Date().toISOString(),
    };
    if (input.webhook) {
      const webhook: NonNullable<ProvidersStateData['webhook']> = { url: input.webhook.url };
      if (input.webhook.secret !== undefined) {
        if (!this.secretKey) throw new HashCheckError(ErrorCode.DEPENDENCY_UNAVAILABLE, 'PROVIDER_SECRET_KEY is not configured; webhook secrets cannot be stored');
        webhook.secret = encryptSecret(input.webhook.secret, this.secretKey, id);
      } else if (keptSecret) {
        webhook.secret = keptSecret;
      }
      state.webhook = webhook;
    }
    return state;
  }

  #event(state: ProvidersStateData) {
    return createEvent(ProvidersState, { id: deterministicUuid(`providers.state:${state.id}:${state.revision}`), subject: state.id, source: SERVICE_SOURCE, data: state });
  }
}
