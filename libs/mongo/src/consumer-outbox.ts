import type { FastifyInstance } from 'fastify';
import type { Collection, Db } from 'mongodb';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import { registry } from '@hashcheck/events';
import { UnencodableEvents, type EventProducer } from '@hashcheck/kafka';
import type { CollectionIndexes } from './client';
import { Coalescer, type Waiting } from './coalescer';
import { InsertBatcher } from './insert-batcher';
import { tracedEvent, type OutboxEntry } from './outbox';
import { existingIds } from './pending-marks';
import { RecentIds } from './recent-ids';

/** Event ids a consumer handler published (and had acknowledged): see ConsumerOutbox. */
export const OUTBOX_PUBLISHED = 'outbox_published';

export interface PublishedRecord {
  _id: string;
  at: Date;
}

/** Pruning reads records by age (MongoDB; FerretDB 1.24 reads the collection whatever the index). */
export const OUTBOX_PUBLISHED_INDEXES: CollectionIndexes = { collection: OUTBOX_PUBLISHED, indexes: [{ key: { at: 1 }, name: 'by_age' }] };

/** How often the ledger is pruned by default. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** How many published ids an instance remembers, so a key's next message need not read the ledger. */
const RECENT_IDS = 50_000;

interface Logger {
  warn: (o: object, m: string) => void;
  error: (o: object, m: string) => void;
}

/** A document whose events its consumer handler publishes (ConsumerOutbox), not the relay. */
export interface WithConsumerOutbox {
  consumerOutbox?: true;
}

/**
 * The outbox of a document written by a Kafka consumer's handler: the input message is the record
 * of the pending event, so no mark is written. The handler stores the document with its events
 * (`events`, as a marked collection's writers do), then publishes them itself and waits for the
 * broker's acknowledgement before it returns, i.e. before its input offset can be committed.
 *
 * Why: the marks (PendingMarks) cost one insert on the handler's path and one delete after the
 * publish, per document. On the pipeline benchmark at 400 reports/s (both services), this took p50 /
 * p99 from 267 – 343 / 460 – 581 ms (six runs with marks) to 188 – 231 / 368 – 653 ms (three runs),
 * and the database's CPU per report from 0.72 – 0.94 to 0.58 – 0.69 ms
 * (test/bench/pipeline.infra.bench.ts, docs/performance.md).
 *
 * Recovery: a crash after the write and before the acknowledgement leaves the input uncommitted;
 * it is redelivered, its write finds the document there already, and the handler calls
 * `publishUnrecorded`, which publishes the document's events that the ledger does not record as
 * published (the same ids: consumers downstream are idempotent). The ledger (`outbox_published`) is
 * written after the acknowledgement and not waited for: it serves only to tell a replay of old input
 * (which must publish nothing) from a redelivery after a crash. A crash between the acknowledgement
 * and the ledger's write can make a later replay publish an event again, under the same id.
 *
 * Only for consumer handlers: an HTTP request has no redelivery, so its writes keep their marks and
 * the relay. A document says which way it went (`consumerOutbox: true`); duplicates found without
 * it belong to the relay and its marks.
 */
export class ConsumerOutbox {
  readonly ledger: Collection<PublishedRecord>;
  readonly #records: InsertBatcher<PublishedRecord>;
  readonly #recent = new RecentIds(RECENT_IDS);
  readonly #sends = new Coalescer<OutboxEntry>((batch) => this.#send(batch));

  constructor(
    db: Db,
    private readonly producer: Pick<EventProducer, 'publishTraced'>,
    private readonly logger: Logger,
  ) {
    this.ledger = db.collection<PublishedRecord>(OUTBOX_PUBLISHED);
    this.#records = new InsertBatcher(this.ledger);
  }

  /**
   * Publishes the entries of a document just written and resolves once the broker has them.
   * Concurrent calls (a consumer batch) share one request per topic.
   */
  async publish(entries: readonly OutboxEntry[]): Promise<void> {
    await Promise.all(entries.map((entry) => this.#sends.submit(entry)));
  }

  /**
   * For a document this handler found already written (a redelivery, or a replay): publishes those
   * of its entries that were not published yet as far as this instance and the ledger know.
   * Returns how many it published.
   */
  async publishUnrecorded(entries: readonly OutboxEntry[] | undefined): Promise<number> {
    const missing = await this.#unrecorded(entries);
    await this.publish(missing);
    return missing.length;
  }

  /** Of these entries, how many are not known to be published (for status reads). */
  async countUnrecorded(entries: readonly OutboxEntry[] | undefined): Promise<number> {
    return (await this.#unrecorded(entries)).length;
  }

  /**
   * Deletes every ledger record older than `retainMs`, every `everyMs`; returns a function that
   * stops it. A record answers one question, whether a redelivered or replayed input was published
   * already, so it is needed only while its input can still be read: keep it longer than the input
   * topic's retention. The first pass comes one interval after the start, not at it: a restart is
   * when the backlog is consumed, and on FerretDB the pass reads the whole ledger on the service's
   * connection.
   */
  startPruning(options: { retainMs: number; everyMs?: number }): () => Promise<void> {
    let running: Promise<void> | undefined;
    const pass = (): void => {
      running ??= this.prune(new Date(Date.now() - options.retainMs))
        .then(() => undefined)
        .catch((err: unknown) => this.logger.error({ err }, 'pruning the published-events ledger failed; will try again'))
        .finally(() => { running = undefined; });
    };
    const timer = setInterval(pass, options.everyMs ?? PRUNE_EVERY_MS);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }

  /** Deletes the ledger's records from before `before`; returns how many. */
  async prune(before: Date): Promise<number> {
    return (await this.ledger.deleteMany({ at: { $lt: before } })).deletedCount;
  }

  /** Those of these entries that neither this instance nor the ledger knows to be published. */
  async #unrecorded(entries: readonly OutboxEntry[] | undefined): Promise<OutboxEntry[]> {
    const candidates = (entries ?? []).filter((e) => !this.#recent.has(e.id));
    if (candidates.length === 0) return [];
    const recorded = await existingIds(this.ledger, candidates.map((e) => e.id));
    return candidates.filter((e) => !recorded.has(e.id));
  }

  /** One request per topic for the entries of the handlers that were ready together. */
  async #send(batch: Array<Waiting<OutboxEntry>>): Promise<void> {
    const byTopic = new Map<string, Array<Waiting<OutboxEntry>>>();
    for (const w of batch) {
      let group = byTopic.get(w.item.topic);
      if (!group) byTopic.set(w.item.topic, (group = []));
      group.push(w);
    }
    await Promise.all([...byTopic].map(([topic, group]) => this.#publishGroup(topic, group)));
  }

  async #publishGroup(topic: string, group: Array<Waiting<OutboxEntry>>): Promise<void> {
    try {
      await this.producer.publishTraced(topic, group.map(({ item }) => tracedEvent(item)));
    } catch (err) {
      if (err instanceof UnencodableEvents) {
        // An event that does not match its schema can never be published: its handler gets a final
        // error (the input is dead-lettered with the reasons) instead of failing, with every other
        // event of the request, on each redelivery for ever. The others go out.
        err.indices.forEach((i, k) => group[i]!.reject(new HashCheckError(ErrorCode.EVENT_SCHEMA, `event ${group[i]!.item.id} cannot be published: ${err.reasons[k]}`)));
        const rest = group.filter((_, i) => !err.indices.includes(i));
        if (rest.length > 0) await this.#publishGroup(topic, rest);
        return;
      }
      // Always retriable: the handler must fail and its input be redelivered. kafkajs gives up
      // with a non-retriable error once its own retries are spent (a broker away for a while),
      // and the consumer would dead-letter the input of a document already stored.
      const failed = new HashCheckError(ErrorCode.DEPENDENCY_UNAVAILABLE, `publishing to ${topic} failed: ${(err as Error).message ?? String(err)}`, { retriable: true, cause: err });
      for (const w of group) w.reject(failed);
      return;
    }
    for (const w of group) {
      this.#recent.add(w.item.id);
      w.resolve();
    }
    this.#record(group.map((w) => w.item.id));
  }

  /** Not waited for by anyone: see the class comment. */
  #record(ids: string[]): void {
    const at = new Date();
    for (const id of ids) {
      this.#records.insert({ _id: id, at }).catch((err: unknown) => {
        if (!isDuplicateKeyError(err)) this.logger.warn({ err, eventId: id }, 'could not record a published event; a replay may publish it again (same id)');
      });
    }
  }
}

/**
 * How long a consumer's ledger keeps a record: a day past its input topic's retention, after which
 * no replay can reach that input.
 */
export function ledgerRetentionMs(inputTopic: string): number {
  const retention = registry.topic(inputTopic)?.retentionMs;
  if (retention === undefined) throw new Error(`${inputTopic} has no retention in the topic registry: its ledger would be kept forever`);
  return retention + 24 * 60 * 60 * 1000;
}

/**
 * The ConsumerOutbox for an app's handlers of `inputTopic`, its ledger pruned past that topic's
 * retention (ledgerRetentionMs) from when the app is ready until it closes.
 */
export function createConsumerOutbox(
  app: Pick<FastifyInstance, 'mongo' | 'kafka'> & { log: Logger; addHook: (name: 'onReady' | 'onClose', hook: () => Promise<void>) => unknown },
  inputTopic: string,
): ConsumerOutbox {
  const retainMs = ledgerRetentionMs(inputTopic);
  const outbox = new ConsumerOutbox(app.mongo.db, app.kafka.producer, app.log);
  let stop: (() => Promise<void>) | undefined;
  app.addHook('onReady', async () => { stop = outbox.startPruning({ retainMs }); });
  app.addHook('onClose', async () => stop?.());
  return outbox;
}
