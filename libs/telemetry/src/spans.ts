import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
import { Attr } from './attributes';

const tracer = () => trace.getTracer('hashcheck');

function withLinkIds(attributes: Attributes, links: readonly Link[]): Attributes {
  return links.length === 0 ? attributes : { ...attributes, [Attr.LINKED_TRACE_IDS]: links.map((l) => l.context.traceId) };
}

export interface SpanInOptions {
  attributes: Attributes;
  kind?: SpanKind;
  links?: Link[];
  root?: boolean;
}

/**
 * One span around `fn` as a child of `parent` (not of the active context), ended however `fn`
 * ends; a failure is recorded on it. For work whose parent comes from elsewhere, such as a Kafka
 * message's producer.
 */
export function withSpanIn<T>(name: string, parent: Context, options: SpanInOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
  return runSpan(name, parent, options, fn);
}

/** One span around `fn` in `parent`, ended however `fn` ends; a failure is recorded on it. */
function runSpan<T>(name: string, parent: Context, options: SpanInOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const attributes = withLinkIds(options.attributes, options.links ?? []);
  return context.with(parent, () =>
    tracer().startActiveSpan(name, { kind: SpanKind.INTERNAL, ...options, attributes }, async (span) => {
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

function linksTo(carriers: ReadonlyArray<Record<string, string>>, why: string): Link[] {
  const links: Link[] = [];
  for (const c of carriers) {
    const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, c));
    if (spanContext) links.push({ context: spanContext, attributes: { 'hashcheck.link': why } });
  }
  return links;
}

/** Runs `fn` in a child span of the active context; records failures on the span. */
export async function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  return runSpan(name, context.active(), { attributes }, fn);
}

/**
 * A child span of the active context that also links to the traces of `origins` (an escalation or
 * a closing back to the report that opened the case). `origins` is only called when the span is
 * recorded, so finding them (a database read) costs nothing with tracing off. A link to the span's
 * own trace is left out.
 */
export async function withLinkedSpan<T>(
  name: string,
  origins: () => Promise<ReadonlyArray<Record<string, string> | undefined>> | ReadonlyArray<Record<string, string> | undefined>,
  why: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  return runSpan(name, context.active(), { attributes }, async (span) => {
    if (span.isRecording()) {
      const own = span.spanContext().traceId;
      const carriers = (await origins()).filter((o): o is Record<string, string> => o !== undefined && Object.keys(o).length > 0);
      const links = linksTo(carriers, why).filter((l) => l.context.traceId !== own);
      span.addLinks(links);
      span.setAttributes(withLinkIds({}, links));
    }
    return fn(span);
  });
}

/**
 * Work that happens much later than its cause (a deadline hours after a notice, a re-notice, an
 * escalation) starts a trace of its own, linked to the trace it came from, so an operator can walk
 * from the escalation back to the report without one trace spanning days.
 */
export async function withLinkedTrace<T>(name: string, origin: Record<string, string> | undefined, attributes: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  return runSpan(name, ROOT_CONTEXT, { attributes, links: linksTo(origin ? [origin] : [], 'origin'), root: true }, fn);
}

/**
 * Work that gathers several earlier messages (a notice grouping many reports) continues the trace
 * of the first one, so a single report's path stays one trace, and links the others.
 */
export async function withOrigins<T>(name: string, origins: ReadonlyArray<Record<string, string> | undefined>, attributes: Attributes, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const carriers = origins.filter((o): o is Record<string, string> => o !== undefined && Object.keys(o).length > 0);
  const [first, ...rest] = carriers;
  const parent = first ? propagation.extract(ROOT_CONTEXT, first) : context.active();
  return runSpan(name, parent, { attributes, links: linksTo(rest, 'grouped') }, fn);
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
