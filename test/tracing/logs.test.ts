/**
 * Log lines carry the trace (issue 8): a service's own logger (createLogger, as every service
 * process builds it) writes `trace_id` and `span_id` of the span active when the line was logged,
 * while it handles a traced Kafka message and a traced HTTP request. Spans are collected in memory
 * and the logged ids are checked against the spans that were actually exported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTelemetry, shutdownTelemetry } from '@hashcheck/telemetry/sdk';

// The SDK patches kafkajs, mongodb, pino and fastify only if it starts before they load.
const exporter = new InMemorySpanExporter();
startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const { trace } = await import('@opentelemetry/api');
const { createEvent, RemovalsReported, Topics } = await import('@hashcheck/events');
const { createKafka, EventProducer } = await import('@hashcheck/kafka');
const { createLogger } = await import('@hashcheck/logging');
const { codec } = await import('@hashcheck/runtime');
const { buildApp: buildEnforcement, EnforcementConfigSchema } = await import('@hashcheck/enforcement');
const { loadConfig } = await import('@hashcheck/config');
const { infra, waitFor } = await import('@hashcheck/testing');
const h = await import('../e2e/pipeline-harness');

type Line = Record<string, unknown>;

function capture(): { stream: Writable; lines: () => Line[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } });
  return {
    stream,
    lines: () => chunks.join('').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Line),
  };
}

test('a service logs the trace_id and span_id of the span it is working in (Kafka message, HTTP request)', async (t) => {
  const env = infra(t);
  if (!env) return;
  t.after(() => shutdownTelemetry());
  const iso = h.isolation();
  const out = capture();
  const logger = createLogger({ service: 'enforcement', level: 'info', destination: out.stream, pretty: false });
  const app = await buildEnforcement(
    loadConfig(EnforcementConfigSchema, { ...h.baseEnv(env, iso, 'enforcement'), ADMIN_API_KEY: h.SERVICE_ADMIN_KEY, TIMER_POLL_MS: '200', RETENTION_INTERVAL_MS: '0' }),
    { logger },
  );
  await app.ready();
  t.after(() => app.close());
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const spanById = (id: unknown): ReadableSpan | undefined => spans().find((s) => s.spanContext().spanId === id);

  // Kafka: a removal report about a case nobody knows is logged (and kept) while the consumer handles it.
  const producer = new EventProducer(createKafka({ brokers: env.brokers, clientId: 'logs-test' }), codec, iso.prefix);
  await producer.connect();
  t.after(() => producer.disconnect());
  const caseId = `no-such-case-${Date.now()}`;
  const traceId = await trace.getTracer('logs-test').startActiveSpan('partner publish', async (span) => {
    await producer.publish(Topics.removalsReported, [createEvent(RemovalsReported, { subject: caseId, source: 'logs-test', data: { caseId, observedAt: new Date().toISOString(), status: 'removed', reporter: 'logs-test' } })]);
    span.end();
    return span.spanContext().traceId;
  });
  const line = await waitFor(() => out.lines().find((l) => l.msg === 'removal report names no case seen yet; kept until the case arrives' && l.caseId === caseId), { what: 'the warning about the unknown case', timeoutMs: 90_000 });
  assert.equal(line.service, 'enforcement');
  assert.equal(line.trace_id, traceId, 'the line carries the trace of the message being handled');
  assert.match(String(line.span_id), /^[0-9a-f]{16}$/);
  // The span it names is the consumer's span of that message, in that trace (exported when it ends).
  const active = await waitFor(() => spanById(line.span_id), { what: `the span ${String(line.span_id)} named by the log line`, timeoutMs: 30_000 });
  assert.equal(active.spanContext().traceId, traceId);
  assert.ok(active.name.startsWith('process') && active.name.includes(Topics.removalsReported), `the line was logged in the consumer span, not in ${active.name}`);

  // HTTP: a request that carries a W3C traceparent; the request's log lines name its server span.
  const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await app.inject({ method: 'GET', url: '/v1/notices/no-such-notice', headers: { authorization: `Bearer ${h.SERVICE_ADMIN_KEY}`, traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` } });
  assert.equal(res.statusCode, 404, res.body);
  const requestLines = await waitFor(() => {
    const ls = out.lines().filter((l) => l.trace_id === callerTrace);
    return ls.length > 0 ? ls : undefined;
  }, { what: 'log lines of the traced request', timeoutMs: 30_000 });
  for (const l of requestLines) {
    const s = await waitFor(() => spanById(l.span_id), { what: `the span ${String(l.span_id)} named by "${String(l.msg)}"`, timeoutMs: 30_000 });
    assert.equal(s.spanContext().traceId, callerTrace, `"${String(l.msg)}" names a span of the caller's trace`);
  }
  t.diagnostic(`request lines with the caller's trace: ${requestLines.map((l) => String(l.msg)).join(' | ')}`);
  // Outside any span, a line has no trace ids (nothing is invented).
  logger.info('outside any span');
  const outside = out.lines().find((l) => l.msg === 'outside any span');
  assert.ok(outside && outside.trace_id === undefined && outside.span_id === undefined);
});
