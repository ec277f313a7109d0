import { context, propagation, trace as otelTrace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Kafka, Producer, ProducerRecord, IHeaders, Message } from 'kafkajs';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { Header, type EventCodec, type EventEnvelope } from '@hashcheck/events';
import { recordPublished } from '@hashcheck/telemetry';
import { contextFromCarrier, startSendSpan, type Carrier } from './tracing';

export interface PublishOptions {
  /** Send under this trace context (the outbox relay passes the context captured at write time). */
  carrier?: Carrier;
}

/** Events of a publish that do not match their schemas (`indices` into the items): nothing was sent. */
export class UnencodableEvents extends HashCheckError {
  constructor(readonly indices: number[], readonly reasons: string[]) {
    super(ErrorCode.EVENT_SCHEMA, `${indices.length} event(s) do not match their schemas: ${reasons.join(' | ')}`);
  }
}

export interface ProducerLogger {
  warn: (o: object, m: string) => void;
}

/**
 * Idempotent producer (`acks: -1`, one request in flight) that publishes validated events with
 * the subject as key and the trace context in headers.
 *
 * After any failed send the kafkajs producer is replaced by a new one (a new producer id). kafkajs
 * rolls a partition's sequence number back when a request fails, even when the broker appended the
 * batch and only the response was lost (a broker killed mid-request). Its next batch to that
 * partition reuses the sequence: the broker either discards it as a duplicate while kafkajs
 * reports success (the same number of messages: silently lost) or answers
 * OUT_OF_ORDER_SEQUENCE_NUMBER to every send from then on (D11 in docs/reliability.md). A new
 * producer id starts a fresh sequence; what the failed send may have appended goes out again,
 * which consumers already tolerate (they deduplicate by event id). Sends are queued one after
 * another so that none starts on the old producer once one has failed.
 */
export class EventProducer {
  readonly #kafka: Kafka;
  #producer: Producer;
  #ready: Promise<void> | undefined;
  #connected = false;
  #closed = false;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #retiring = new Set<Promise<void>>();
  #replaced = 0;

  constructor(
    kafka: Kafka,
    readonly codec: EventCodec,
    readonly prefix = '',
    private readonly logger?: ProducerLogger,
  ) {
    this.#kafka = kafka;
    this.#producer = this.#create();
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** How many times a failed send has replaced the kafkajs producer (for tests and metrics). */
  get replaced(): number {
    return this.#replaced;
  }

  async connect(): Promise<void> {
    this.#closed = false;
    await this.#connect();
  }

  /** Starts connecting in the background when not connected (a readiness probe calls it). */
  reconnect(): void {
    if (!this.#closed && !this.#connected) this.#connect().catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    this.#closed = true;
    await this.#ready?.catch(() => undefined);
    await this.#producer.disconnect();
    await Promise.all(this.#retiring);
    this.#ready = undefined;
    this.#connected = false;
  }

  #create(): Producer {
    const producer = this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    producer.on(producer.events.CONNECT, () => { if (producer === this.#producer) this.#connected = true; });
    producer.on(producer.events.DISCONNECT, () => { if (producer === this.#producer) this.#connected = false; });
    return producer;
  }

  #connect(): Promise<void> {
    const producer = this.#producer;
    this.#ready ??= producer.connect().then(
      () => { if (producer === this.#producer) this.#connected = true; },
      (err: unknown) => {
        if (producer === this.#producer) this.#ready = undefined;
        throw err;
      },
    );
    return this.#ready;
  }

  #send(record: ProducerRecord): Promise<unknown> {
    const run = this.#tail.then(async () => {
      if (!this.#closed) await this.#connect();
      const producer = this.#producer;
      try {
        return await producer.send(record);
      } catch (err) {
        this.#retire(producer, err as Error);
        throw err;
      }
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #retire(producer: Producer, err: Error): void {
    if (producer !== this.#producer || this.#closed) return;
    this.#replaced += 1;
    this.logger?.warn({ err }, 'a send failed: replacing the idempotent producer (a new producer id) so that no later batch reuses its sequence numbers');
    this.#producer = this.#create();
    this.#ready = undefined;
    this.#connected = false;
    const retiring = producer.disconnect().catch(() => undefined);
    this.#retiring.add(retiring);
    void retiring.finally(() => this.#retiring.delete(retiring));
    this.reconnect();
  }

  topic(name: string): string {
    return this.prefix + name;
  }

  toMessage(event: EventEnvelope, extraHeaders: IHeaders = {}): Message {
    const headers: IHeaders = {
      [Header.EVENT_TYPE]: event.type,
      [Header.EVENT_VERSION]: String(event.version),
      [Header.EVENT_ID]: event.id,
      [Header.CONTENT_TYPE]: 'application/json',
      ...extraHeaders,
    };
    return { key: event.subject, value: this.codec.encode(event), headers };
  }

  /** Publishes events to one topic (base name; the prefix is added here). */
  async publish(topic: string, events: readonly EventEnvelope[], options: PublishOptions = {}): Promise<void> {
    if (events.length === 0) return;
    const ctx = options.carrier ? contextFromCarrier(options.carrier) : context.active();
    await context.with(ctx, async () => {
      const messages = events.map((e) => {
        const m = this.toMessage(e);
        const trace: Record<string, string> = {};
        propagation.inject(context.active(), trace);
        m.headers = { ...m.headers, ...trace };
        return m;
      });
      await this.#send({ topic: this.topic(topic), acks: -1, messages });
    });
    recordPublished(topic, events.length);
  }

  /**
   * Events to one topic in ONE request, each under its own trace context (the outbox relay's
   * entries, each captured when its change was written). The kafkajs instrumentation would start
   * every message's span under the caller's context, so it is suppressed for this send and each
   * message gets its `send` span here, as a child of its own context.
   */
  async publishTraced(topic: string, items: ReadonlyArray<{ event: EventEnvelope; carrier: Carrier | undefined }>): Promise<void> {
    if (items.length === 0) return;
    const name = this.topic(topic);
    // Encoded (and so validated) before anything is sent: an event that fails its schema would fail
    // the whole request on every retry; the caller learns which ones, and can send the others.
    const encoded = items.map(({ event }) => {
      try {
        return this.toMessage(event);
      } catch (err) {
        return err as Error;
      }
    });
    const invalid = encoded.flatMap((m, i) => (m instanceof Error ? [i] : []));
    if (invalid.length > 0) throw new UnencodableEvents(invalid, invalid.map((i) => (encoded[i] as Error).message));
    const spans = items.map(({ carrier }) => {
      const parent = contextFromCarrier(carrier);
      return { parent, span: startSendSpan(name, parent) };
    });
    const messages = (encoded as Message[]).map((m, i) => {
      const { parent, span } = spans[i]!;
      const headers: Record<string, string> = {};
      propagation.inject(otelTrace.setSpan(parent, span), headers);
      m.headers = { ...m.headers, ...headers };
      return m;
    });
    try {
      await context.with(suppressTracing(context.active()), () => this.#send({ topic: name, acks: -1, messages }));
    } catch (err) {
      for (const { span } of spans) span.recordException(err as Error);
      throw err;
    } finally {
      for (const { span } of spans) span.end();
    }
    recordPublished(topic, items.length);
  }

  /** For dead-lettering and tests: raw messages, no validation. */
  async publishRaw(topic: string, messages: Message[]): Promise<void> {
    await this.#send({ topic: this.topic(topic), acks: -1, messages });
  }
}
