import { context } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { errorCodeOf, isRetriable } from '@hashcheck/errors';
import { Header, Topics, type DecodeFailure, type EventCodec, type EventEnvelope } from '@hashcheck/events';
import type { EventProducer } from './producer';
import { withSpanIn } from '@hashcheck/telemetry';
import { consumerContext, messagingSpan, producerContext } from './tracing';

export interface MessageMeta {
  topic: string;
  partition: number;
  offset: string;
  headers: IHeaders;
  key: string | null;
}

export type EventHandler = (event: EventEnvelope, meta: MessageMeta) => Promise<void>;

/**
 * What to do with a message that did not decode into a valid event. Return 'handled' when the
 * callback dealt with it (for example intake publishing a rejection); otherwise it is dead-lettered.
 */
export type InvalidMessageHandler = (failure: DecodeFailure, message: KafkaMessage, meta: MessageMeta) => Promise<'handled' | 'deadletter'>;

export interface ConsumerLogger {
  warn: (o: object, m: string) => void;
  error: (o: object, m: string) => void;
  debug: (o: object, m: string) => void;
}

export interface EventConsumerOptions {
  kafka: Kafka;
  groupId: string;
  /** Base topic names; the producer's prefix is applied. */
  topics: string[];
  codec: EventCodec;
  handler: EventHandler;
  /** Used to dead-letter; its prefix is the prefix of the consumed topics too. */
  producer: EventProducer;
  logger: ConsumerLogger;
  onInvalid?: InvalidMessageHandler;
  fromBeginning?: boolean;
  /** Observers for metrics; called after the outcome is final. */
  onOutcome?: (outcome: 'processed' | 'deadlettered' | 'invalid-handled', meta: MessageMeta, durationMs: number) => void;
  partitionsConsumedConcurrently?: number;
  /**
   * Messages of one partition handled at once (default 1: one after another). Messages with the same
   * key still run in order. Above 1, handlers that write can share a database round trip (see
   * InsertBatcher), which is what makes the report pipeline's throughput: with one message at a
   * time every report waited for its own writes.
   */
  batchConcurrency?: number;
}

interface Delivery {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * One consumer group over some topics. Each message is handled under the producer's trace
 * context, one at a time or `batchConcurrency` at once. Errors are classified in one place: retriable ones are thrown so kafkajs backs off and
 * redelivers; anything else goes to the dead-letter topic with its code, and is committed.
 */
export class EventConsumer {
  readonly consumer: Consumer;
  #connected = false;
  #crashed: Error | undefined;
  #stopping = false;

  constructor(readonly options: EventConsumerOptions) {
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // A consumer being stopped must not come back: kafkajs restarts a crashed consumer, and a
      // crash while leaving (kafkajs issue 1639) would otherwise start consuming again.
      retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000, restartOnFailure: async () => !this.#stopping },
      // How long the broker holds a fetch on an idle partition (kafkajs: 5 s). A fetch returns as
      // soon as there is data, so this does not delay messages; it bounds how long leaving the
      // group on shutdown waits for the fetch in flight. One idle fetch a second is no load.
      maxWaitTimeInMs: 1000,
    });
    const ev = this.consumer.events;
    this.consumer.on(ev.CONNECT, () => { this.#connected = true; });
    this.consumer.on(ev.GROUP_JOIN, () => { this.#connected = true; this.#crashed = undefined; });
    this.consumer.on(ev.DISCONNECT, () => { this.#connected = false; });
    this.consumer.on(ev.STOP, () => { this.#connected = false; });
    this.consumer.on(ev.CRASH, (e) => {
      this.#connected = false;
      this.#crashed = e.payload.error;
      options.logger.error({ err: e.payload.error, groupId: options.groupId, restart: e.payload.restart }, 'consumer crashed');
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  get lastCrash(): Error | undefined {
    return this.#crashed;
  }

  async start(): Promise<void> {
    const { producer } = this.options;
    await this.consumer.connect();
    this.#connected = true;
    await this.consumer.subscribe({ topics: this.options.topics.map((t) => producer.topic(t)), fromBeginning: this.options.fromBeginning ?? true });
    const concurrency = Math.max(1, this.options.batchConcurrency ?? 1);
    // With eachBatch this consumer starts each message's `process` span itself, under the message's
    // producer (#processBatch). The kafkajs instrumentation's wrapper of `run` would add a `poll`
    // span per batch and a second `process` span per message, in a trace of their own that no report
    // reaches; on the pipeline benchmark with tracing on, starting those was the instrumentation's
    // largest cost (`_startConsumerSpan`). So batch consumers call the unwrapped `run` (shimmer keeps
    // it as `__original`). eachMessage consumers keep the instrumentation's span: it is the one
    // parented on the producer there.
    const run = concurrency === 1 ? this.consumer.run : ((this.consumer.run as { __original?: Consumer['run'] }).__original ?? this.consumer.run);
    await run.call(this.consumer, {
      autoCommit: true,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      ...(concurrency === 1
        ? { eachMessage: (payload) => this.#process(payload) }
        : { eachBatchAutoResolve: false, eachBatch: (payload) => this.#processBatch(payload, concurrency) }),
    });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.consumer.disconnect();
    this.#connected = false;
  }

  /**
   * A fetched batch in windows of `limit` messages handled at once. The offset moves past a window
   * only when all of it is done; on a retriable failure it stops right before the first failed
   * message and the error goes to kafkajs, which redelivers from there (the messages after it that
   * did succeed are redelivered too, and every handler is idempotent). A message whose key had an
   * earlier message fail in the same window is not run at all, so one key's messages keep their order.
   */
  async #processBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload, limit: number): Promise<void> {
    const { topic, partition, messages } = batch;
    for (let i = 0; i < messages.length; i += limit) {
      if (!isRunning() || isStale()) return;
      const window = messages.slice(i, i + limit);
      const byKey = new Map<string, Promise<void>>();
      const runs = window.map((message) => {
        const key = message.key ? message.key.toString('latin1') : `\0${message.offset}`;
        const before = byKey.get(key);
        // Each message's span is a child of its producer, as with eachMessage (see messagingSpan).
        const one = (): Promise<void> =>
          withSpanIn(`process ${topic}`, producerContext(message.headers), messagingSpan('process', topic, { 'messaging.destination.partition.id': String(partition), 'messaging.kafka.offset': message.offset }), () =>
            this.#process({ topic, partition, message }),
          );
        const run = before ? before.then(one) : one();
        byKey.set(key, run);
        return run;
      });
      const settled = await Promise.allSettled(runs);
      const failed = settled.findIndex((r) => r.status === 'rejected');
      if (failed === -1) {
        resolveOffset(window.at(-1)!.offset);
        await heartbeat();
        continue;
      }
      if (failed > 0) resolveOffset(window[failed - 1]!.offset);
      throw (settled[failed] as PromiseRejectedResult).reason;
    }
  }

  async #process({ topic, partition, message }: Delivery): Promise<void> {
    const started = performance.now();
    const meta: MessageMeta = {
      topic: topic.slice(this.options.producer.prefix.length),
      partition,
      offset: message.offset,
      headers: message.headers ?? {},
      key: message.key ? message.key.toString() : null,
    };
    const done = (outcome: 'processed' | 'deadlettered' | 'invalid-handled'): void => {
      this.options.onOutcome?.(outcome, meta, performance.now() - started);
    };
    await context.with(consumerContext(message.headers), async () => {
      const decoded = this.options.codec.decode(message.value);
      if (!decoded.ok) {
        let verdict: 'handled' | 'deadletter' = 'deadletter';
        let reason = decoded.error.reasons.join('; ');
        let code: string = decoded.error.code;
        if (this.options.onInvalid) {
          try {
            verdict = await this.options.onInvalid(decoded.error, message, meta);
          } catch (err) {
            // A handler that cannot record the refusal must not hold the partition forever.
            if (isRetriable(err)) throw err;
            this.options.logger.error({ err, topic: meta.topic, offset: meta.offset }, 'invalid-message handler failed; dead-lettered');
            code = errorCodeOf(err);
            reason = `${reason}; and recording the refusal failed: ${(err as Error).message ?? String(err)}`;
          }
        }
        if (verdict === 'handled') return done('invalid-handled');
        await this.#deadLetter(message, meta, code, reason);
        return done('deadlettered');
      }
      try {
        await this.options.handler(decoded.event, meta);
        done('processed');
      } catch (err) {
        if (isRetriable(err)) {
          this.options.logger.warn({ err, eventId: decoded.event.id, topic: meta.topic }, 'retriable failure, will be redelivered');
          throw err;
        }
        this.options.logger.error({ err, eventId: decoded.event.id, topic: meta.topic }, 'poison message, dead-lettered');
        await this.#deadLetter(message, meta, errorCodeOf(err), (err as Error).message ?? String(err));
        done('deadlettered');
      }
    });
  }

  async #deadLetter(message: KafkaMessage, meta: MessageMeta, code: string, reason: string): Promise<void> {
    // Original bytes, key and headers are kept as they were so the message can be inspected or replayed.
    await this.options.producer.publishRaw(Topics.deadLetter, [
      {
        key: message.key,
        value: message.value,
        headers: {
          ...(message.headers ?? {}),
          [Header.DLQ_ORIGINAL_TOPIC]: meta.topic,
          [Header.DLQ_ORIGINAL_PARTITION]: String(meta.partition),
          [Header.DLQ_ORIGINAL_OFFSET]: meta.offset,
          [Header.DLQ_CONSUMER_GROUP]: this.options.groupId,
          [Header.DLQ_ERROR_CODE]: code,
          [Header.DLQ_ERROR_MESSAGE]: reason.slice(0, 2000),
        },
      },
    ]);
  }
}
