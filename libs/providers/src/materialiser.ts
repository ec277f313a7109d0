import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import { isDuplicateKeyError, isRetriable } from '@hashcheck/errors';
import { ProvidersState, Topics, type EventCodec, type ProvidersStateData } from '@hashcheck/events';
import { EventConsumer, type ConsumerLogger, type EventProducer } from '@hashcheck/kafka';
import { ProviderIndex, type Provider } from './provider-index';

export interface ProviderViewDocument {
  _id: string;
  revision: number;
  state: Provider;
  updatedAt: Date;
}

export interface ProviderMaterialiserOptions {
  kafka: Kafka;
  /** Supplies the topic prefix and dead-letters events that do not decode. */
  producer: EventProducer;
  codec: EventCodec;
  logger: ConsumerLogger & { info: (o: object, m: string) => void };
  /** The service materialising; part of the consumer group id. */
  service: string;
  /** Keep a copy in this database (collection `collection`), so queries and restarts need no replay. */
  db?: Db;
  collection?: string;
  onChange?: (provider: Provider) => void;
}

export const PROVIDER_VIEW_COLLECTION = 'providers_view';

/**
 * Materialises the compacted providers topic into memory (for `resolve`) and, optionally, a MongoDB
 * view. Every instance must see every partition, so each instance has its own consumer group and
 * reads the topic from the beginning; it reports caught up once it has reached the end offsets the
 * topic had when it started. Applying is idempotent: an older or equal revision is ignored.
 */
export class ProviderMaterialiser {
  readonly index = new ProviderIndex();
  #consumer: EventConsumer | undefined;
  #targets = new Map<number, bigint>();
  #caughtUp = false;
  #waiters: Array<() => void> = [];

  constructor(private readonly options: ProviderMaterialiserOptions) {}

  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  get consumerConnected(): boolean {
    return this.#consumer?.connected ?? false;
  }

  resolve(host: string, ip?: string | null): ReturnType<ProviderIndex['resolve']> {
    return this.index.resolve(host, ip);
  }

  get(id: string): Provider | undefined {
    return this.index.get(id);
  }

  async start(): Promise<void> {
    const { db, kafka, producer } = this.options;
    if (db) {
      const docs = await db.collection<ProviderViewDocument>(this.#collection).find({}).toArray();
      for (const d of docs) this.index.apply(d.state);
    }
    for (const p of await endOffsets(kafka, producer.topic(Topics.providers))) {
      if (BigInt(p.high) > BigInt(p.low)) this.#targets.set(p.partition, BigInt(p.high) - 1n);
    }
    if (this.#targets.size === 0) this.#markCaughtUp();
    const prefix = producer.prefix;
    this.#consumer = new EventConsumer({
      kafka,
      producer,
      codec: this.options.codec,
      logger: this.options.logger,
      groupId: `${prefix}hashcheck-${this.options.service}-providers-${randomBytes(6).toString('hex')}`,
      topics: [Topics.providers],
      fromBeginning: true,
      handler: async (event) => {
        if (event.type !== ProvidersState.type || event.version !== ProvidersState.version) return;
        await this.apply(event.data as ProvidersStateData);
      },
      onOutcome: (_outcome, meta) => {
        const target = this.#targets.get(meta.partition);
        if (target !== undefined && BigInt(meta.offset) >= target) {
          this.#targets.delete(meta.partition);
          if (this.#targets.size === 0) this.#markCaughtUp();
        }
      },
    });
    await this.#consumer.start();
  }

  /** Applies one provider state (from the topic, or by the registry right after its own write). */
  async apply(state: Provider): Promise<boolean> {
    // The view first: if its write fails, the message is redelivered, and the index must not have
    // taken the state already, or the redelivery would find nothing changed and skip onChange.
    if (this.options.db) {
      try {
        await this.options.db.collection<ProviderViewDocument>(this.#collection).updateOne(
          { _id: state.id, revision: { $lt: state.revision } },
          { $set: { state, revision: state.revision, updatedAt: new Date() } },
          { upsert: true },
        );
      } catch (err) {
        // The view already holds this or a newer revision.
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    const changed = this.index.apply(state);
    if (changed) this.options.onChange?.(state);
    return changed;
  }

  async waitUntilCaughtUp(timeoutMs = 30_000): Promise<void> {
    if (this.#caughtUp) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`providers view not caught up after ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    await this.#consumer?.stop();
  }

  get #collection(): string {
    return this.options.collection ?? PROVIDER_VIEW_COLLECTION;
  }

  #markCaughtUp(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    this.options.logger.info({ providers: this.index.size }, 'providers view caught up');
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** End offsets at start-up. Right after the topic is created its leader may not be known yet: retry. */
async function endOffsets(kafka: Kafka, topic: string): Promise<Array<{ partition: number; high: string; low: string }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await admin.fetchTopicOffsets(topic);
      } catch (err) {
        if (!isRetriable(err) || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1000)));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
