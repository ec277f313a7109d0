import { context, propagation, trace, ROOT_CONTEXT, SpanKind, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

export type Carrier = Record<string, string>;

const headerGetter: TextMapGetter<IHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    const first = Array.isArray(v) ? v[0] : v;
    return first === undefined ? undefined : first.toString();
  },
};

/** The active trace context as a plain object, to keep beside an outbox entry. */
export function captureContext(ctx: Context = context.active()): Carrier {
  const carrier: Carrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

export function contextFromCarrier(carrier: Carrier | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/**
 * The context a consumer handler runs in: the kafkajs instrumentation's consumer span when it is
 * active, otherwise the producer's context taken from the message headers.
 */
export function consumerContext(headers: IHeaders | undefined): Context {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  return headers ? propagation.extract(active, headers, headerGetter) : active;
}

export function headersAsStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

const tracer = trace.getTracer('@hashcheck/kafka');

/**
 * Kind and attributes of a messaging span (`send <topic>` / `process <topic>`, as the kafkajs
 * instrumentation names them) that is given its parent explicitly. Used where the instrumentation
 * cannot pick the right parent: it starts every span of one `send` under the caller's context, and
 * in `eachBatch` it parents each message's span on a batch span instead of on the message's
 * producer. A report's trace must run unbroken through every hop, so the relay and batch consumers
 * set the parent themselves.
 */
export function messagingSpan(kind: 'send' | 'process', topic: string, attributes: Record<string, string | number> = {}): { kind: SpanKind; attributes: Record<string, string | number> } {
  return {
    kind: kind === 'send' ? SpanKind.PRODUCER : SpanKind.CONSUMER,
    attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.name': kind, 'messaging.operation.type': kind, ...attributes },
  };
}

/** A `send <topic>` span under `parent`, started now and ended by the caller (after the send). */
export function startSendSpan(topic: string, parent: Context): Span {
  return tracer.startSpan(`send ${topic}`, messagingSpan('send', topic), parent);
}

/** The producer's context from a message's headers (the root context when it has none). */
export function producerContext(headers: IHeaders | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
}
