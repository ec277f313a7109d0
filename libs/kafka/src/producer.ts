import { context, propagation, trace as otelTrace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Kafka, Producer, IHeaders, Message } from 'kafkajs';
import { Header, type EventCodec, type EventEnvelope } from '@hashcheck/events';
import { recordPublished } from '@hashcheck/telemetry';
import { contextFromCarrier, startSendSpan, type Carrier } from './tracing';

export interface PublishOptions {
  /** Send under this trace context (the outbox relay passes the context captured at write time). */
  carrier?: Carrier;
}

/**
 * Idempotent producer (`acks: -1`, one request in flight) that publishes validated events with
 * the subject as key and the trace context in headers.
 */
export class EventProducer {
  readonly producer: Producer;
  #connected = false;

  constructor(
    kafka: Kafka,
    readonly codec: EventCodec,
    readonly prefix = '',
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.producer.on(this.producer.events.CONNECT, () => { this.#connected = true; });
    this.producer.on(this.producer.events.DISCONNECT, () => { this.#connected = false; });
  }

  get connected(): boolean {
    return this.#connected;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.#connected = true;
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    this.#connected = false;
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
      await this.producer.send({ topic: this.topic(topic), acks: -1, messages });
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
    const spans = items.map(({ carrier }) => {
      const parent = contextFromCarrier(carrier);
      return { parent, span: startSendSpan(name, parent) };
    });
    const messages = items.map(({ event }, i) => {
      const m = this.toMessage(event);
      const { parent, span } = spans[i]!;
      const headers: Record<string, string> = {};
      propagation.inject(otelTrace.setSpan(parent, span), headers);
      m.headers = { ...m.headers, ...headers };
      return m;
    });
    try {
      await context.with(suppressTracing(context.active()), () => this.producer.send({ topic: name, acks: -1, messages }));
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
    await this.producer.send({ topic: this.topic(topic), acks: -1, messages });
  }
}
