/**
 * Trace continuity across the whole pipeline (issue 8): one report published by a partner becomes
 * one trace through intake, the outbox relay, hash-check, notification and its delivery, to
 * enforcement; a deadline that fires later starts its own trace, linked back. Spans are collected
 * in memory; the same services export to Zipkin under `npm start`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTelemetry, shutdownTelemetry } from '@hashcheck/telemetry/sdk';

// The SDK patches kafkajs and mongodb only if it starts before they load: everything else comes in below.
const exporter = new InMemorySpanExporter();
startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const { trace } = await import('@opentelemetry/api');
const { Topics } = await import('@hashcheck/events');
const { ManualClock, buildApp: buildEnforcement, EnforcementConfigSchema } = await import('@hashcheck/enforcement');
const { loadConfig } = await import('@hashcheck/config');
const { pino } = await import('pino');
const { infra, TopicRecorder, waitFor } = await import('@hashcheck/testing');
const h = await import('./pipeline-harness');

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

test('one report, one trace: partner -> intake -> hash-check -> notification (delivery) -> enforcement; the deadline is linked, not parented', async (t) => {
  const env = infra(t);
  if (!env) return;
  t.after(() => shutdownTelemetry());
  const iso = h.isolation();
  const topic = (base: string) => iso.prefix + base;

  const hook = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(202).end('{}')); });
  await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => { hook.closeAllConnections(); hook.close(() => ok()); }));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/abuse`;

  const clock = new ManualClock(new Date());
  const { app: intake } = await h.bootIntake(env, iso);
  const hashCheck = await h.bootHashCheck(env, iso);
  const notification = await h.bootNotification(env, iso, { NOTICE_WINDOW_MS: '200' });
  // Enforcement on a clock the test moves, so the deadline passes without waiting a day.
  const enforcement = await buildEnforcement(
    loadConfig(EnforcementConfigSchema, { ...h.baseEnv(env, iso, 'enforcement'), ADMIN_API_KEY: h.SERVICE_ADMIN_KEY, TIMER_POLL_MS: '100', RETENTION_INTERVAL_MS: '0' }),
    { logger: pino({ level: 'silent' }), clock },
  );
  await enforcement.ready();
  t.after(async () => { for (const a of [enforcement, notification, hashCheck, intake]) await a.close(); });
  const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.noticesSent), topic(Topics.enforcementEscalated), topic(Topics.noticesRequested)]);
  t.after(() => recorder.stop());

  const admin = { authorization: `Bearer ${h.ADMIN_KEY}` };
  const created = await intake.inject({ method: 'POST', url: '/v1/providers', headers: admin, payload: { id: 'trace-hosting', name: 'Trace Hosting', country: 'NL', abuseContacts: [], webhook: { url: hookUrl, secret: 'trace-webhook-secret-0123456789ab' }, domains: ['trace-hosting.example'], ipRanges: [], category: 'hosting-nl' } });
  assert.equal(created.statusCode, 201, created.body);
  const svc = { authorization: `Bearer ${h.SERVICE_ADMIN_KEY}` };
  const known = md5('traced content');
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists', headers: svc, payload: { id: 'trace-list', name: 'Trace list', source: 'hotline', category: 'csam-a', owner: 'e2e' } })).statusCode, 201);
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists/trace-list/changes', headers: svc, payload: { add: [{ type: 'md5', hash: known }] } })).statusCode, 200);
  await waitFor(async () => (await hashCheck.inject({ method: 'POST', url: '/v1/check', headers: svc, payload: { items: [{ type: 'md5', hash: known }] } })).json().results?.[0]?.match === true, { what: 'the list live' });

  // The partner publishes inside a span of its own: that span is the root of the report's trace.
  const partner = new h.Partner(env.brokers, topic(Topics.reportsSubmitted));
  t.after(() => partner.close());
  const report = h.submitted({ reportId: 'trace:1', source: 'partner-a', url: 'https://cdn.trace-hosting.example/t.jpg', hashes: { md5: known } });
  const traceId = await trace.getTracer('partner').startActiveSpan('partner publish', async (span) => {
    await partner.publish([report]);
    span.end();
    return span.spanContext().traceId;
  });

  await recorder.waitForCount(topic(Topics.noticesSent), 1, 90_000);
  const inTrace = (): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const has = (pred: (s: ReadableSpan) => boolean) => inTrace().some(pred);
  const consumed = (base: string) => (s: ReadableSpan) => s.name.startsWith('process') && s.name.includes(topic(base));
  const produced = (base: string) => (s: ReadableSpan) => s.name.startsWith('send') && s.name.includes(topic(base));
  // Enforcement consumes notices.sent in the same trace once it gets to it.
  await waitFor(() => has(consumed(Topics.noticesSent)), { what: 'enforcement consuming notices.sent in the report trace', timeoutMs: 60_000 });

  const chain: Array<[string, (s: ReadableSpan) => boolean]> = [
    ['partner -> reports.submitted', produced(Topics.reportsSubmitted)],
    ['intake consumes reports.submitted', consumed(Topics.reportsSubmitted)],
    ['outbox relay -> reports.accepted', produced(Topics.reportsAccepted)],
    ['hash-check consumes reports.accepted', consumed(Topics.reportsAccepted)],
    ['hash-check -> reports.matched', produced(Topics.reportsMatched)],
    ['notification consumes reports.matched', consumed(Topics.reportsMatched)],
    ['notification delivers the notice', (s) => s.name === 'hashcheck.deliver'],
    ['notification -> notices.sent', produced(Topics.noticesSent)],
    ['enforcement consumes notices.sent', consumed(Topics.noticesSent)],
  ];
  // A span is exported when it ends, which can be after the messages it sent were consumed (the
  // delivery span closes after its outbox entry was relayed): wait for the whole chain first.
  await waitFor(() => chain.every(([, pred]) => has(pred)), { what: 'every hop in the report trace', timeoutMs: 30_000 }).catch(() => undefined);
  const names = [...new Set(inTrace().map((s) => s.name))].sort();
  for (const [what, pred] of chain) assert.ok(has(pred), `${what} is in the report's trace; spans in it: ${names.join(', ')}`);
  t.diagnostic(`${inTrace().length} spans in the report's trace: ${names.join(', ')}`);

  // Every span of the trace hangs off another span of the trace, back to the partner's root.
  // (A parent is exported when it ends, after its children: give the last handlers a moment.)
  const orphans = (): string[] => {
    const ids = new Set(inTrace().map((s) => s.spanContext().spanId));
    return inTrace().filter((s) => s.name !== 'partner publish' && !ids.has(s.parentSpanContext?.spanId ?? '')).map((s) => s.name);
  };
  await waitFor(() => orphans().length === 0, { what: 'every span of the trace parented in it', timeoutMs: 15_000 }).catch(() => undefined);
  assert.deepEqual(orphans(), [], 'spans whose parent is not in the trace');

  // Much later: the deadline passes. Its work is a trace of its own with a link to the report's trace.
  clock.advance(25 * 60 * 60 * 1000);
  await waitFor(() => exporter.getFinishedSpans().find((s) => s.name === 'hashcheck.deadline'), { what: 'the deadline span', timeoutMs: 60_000 });
  const deadline = exporter.getFinishedSpans().find((s) => s.name === 'hashcheck.deadline')!;
  assert.notEqual(deadline.spanContext().traceId, traceId, 'the deadline starts its own trace');
  assert.equal(deadline.links[0]?.context.traceId, traceId, 'and links back to the report it came from');
});
