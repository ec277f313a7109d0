import type { Db, Document, Filter } from 'mongodb';
import type { EventEnvelope } from '@hashcheck/events';
import { captureContext, type Carrier, type EventProducer } from '@hashcheck/kafka';

/**
 * Embedded outbox: a state change and the events it must emit are written in ONE document (no
 * multi-document transactions on the local server), and the relay publishes them afterwards.
 */
export interface OutboxEntry {
  id: string;
  topic: string;
  event: EventEnvelope;
  /** Trace context captured when the change was made, so the publish joins the original trace. */
  carrier: Carrier;
  createdAt: Date;
}

export interface WithOutbox {
  outbox?: OutboxEntry[];
}

export function outboxEntry(topic: string, event: EventEnvelope): OutboxEntry {
  return { id: event.id, topic, event, carrier: captureContext(), createdAt: new Date() };
}

export const OUTBOX_INDEX = { key: { 'outbox.id': 1 }, name: 'outbox_pending' } as const;

export interface OutboxRelayOptions {
  db: Db;
  collections: string[];
  producer: EventProducer;
  logger: { error: (o: object, m: string) => void; debug: (o: object, m: string) => void };
  intervalMs?: number;
  batchSize?: number;
  onPublished?: (count: number) => void;
}

/**
 * Publishes pending outbox entries, then removes them from their documents. A crash between the
 * two republishes the same event id, which every consumer treats as already done.
 */
export class OutboxRelay {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(private readonly options: OutboxRelayOptions) {}

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Wakes the relay right after a write instead of waiting for the next poll. */
  notify(): void {
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
  }

  /** One pass over every collection; returns how many entries were published. Exposed for tests. */
  async drain(): Promise<number> {
    let total = 0;
    for (const name of this.options.collections) total += await this.#drainCollection(name);
    return total;
  }

  #schedule(delay: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.drain()
        .then((n) => { if (n > 0) this.options.onPublished?.(n); })
        .catch((err) => this.options.logger.error({ err }, 'outbox relay pass failed; will retry'))
        .finally(() => {
          this.#running = undefined;
          if (this.#stopped) return;
          const again = this.#again;
          this.#again = false;
          this.#schedule(again ? 0 : this.options.intervalMs ?? 500);
        });
    }, delay);
  }

  async #drainCollection(name: string): Promise<number> {
    const coll = this.options.db.collection<WithOutbox & Document>(name);
    let published = 0;
    for (;;) {
      const docs = await coll
        .find({ 'outbox.id': { $exists: true } } as Filter<WithOutbox & Document>, { projection: { outbox: 1 } })
        .limit(this.options.batchSize ?? 100)
        .toArray();
      if (docs.length === 0) return published;
      for (const doc of docs) {
        const entries = (doc.outbox ?? []) as OutboxEntry[];
        if (entries.length === 0) continue;
        // Entries of one document go out in order, per topic, each under its own captured trace context.
        for (const entry of entries) {
          await this.options.producer.publish(entry.topic, [entry.event], { carrier: entry.carrier });
        }
        // $pullAll with the entries exactly as read: FerretDB 1.24 ignores a $pull with a condition
        // ({ id: { $in } }) and every entry would be republished on every pass.
        await coll.updateOne({ _id: doc._id }, { $pullAll: { outbox: entries } } as Document);
        published += entries.length;
      }
      if (docs.length < (this.options.batchSize ?? 100)) return published;
    }
  }
}
