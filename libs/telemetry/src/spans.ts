import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Link, type Span } from '@opentelemetry/api';

const tracer = () => trace.getTracer('hashcheck');

/** Runs `fn` in a child span of the active context; records failures on the span. */
export async function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  return tracer().startActiveSpan(name, { attributes, kind: SpanKind.INTERNAL }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Work that happens much later than its cause (a deadline hours after a notice, a re-notice, an
 * escalation) starts a trace of its own, linked to the trace it came from, so an operator can walk
 * from the escalation back to the report without one trace spanning days.
 */
export async function withLinkedTrace<T>(name: string, origin: Record<string, string> | undefined, attributes: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const links: Link[] = [];
  if (origin) {
    const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, origin));
    if (spanContext) links.push({ context: spanContext, attributes: { 'hashcheck.link': 'origin' } });
  }
  return context.with(ROOT_CONTEXT, () =>
    tracer().startActiveSpan(name, { attributes, links, root: true, kind: SpanKind.INTERNAL }, async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    }),
  );
}

/** The active trace context as a carrier to store beside a record (timer, case) for later linking. */
export function currentCarrier(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

export function currentTraceId(): string | undefined {
  return trace.getSpanContext(context.active())?.traceId;
}

/**
 * Work that gathers several earlier messages (a notice grouping many reports) continues the trace
 * of the first one, so a single report's path stays one trace, and links the others.
 */
export async function withOrigins<T>(name: string, origins: ReadonlyArray<Record<string, string> | undefined>, attributes: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const carriers = origins.filter((o): o is Record<string, string> => o !== undefined && Object.keys(o).length > 0);
  const [first, ...rest] = carriers;
  const parent = first ? propagation.extract(ROOT_CONTEXT, first) : context.active();
  const links: Link[] = [];
  for (const c of rest) {
    const sc = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, c));
    if (sc) links.push({ context: sc, attributes: { 'hashcheck.link': 'grouped' } });
  }
  return context.with(parent, () =>
    tracer().startActiveSpan(name, { attributes, links, kind: SpanKind.INTERNAL }, async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    }),
  );
}
