/**
 * Trace continuity across the whole pipeline (issue 8): one report published by a partner becomes
 * one trace through intake, the outbox relay, hash-check, notification and its delivery, to
 * enforcement, with a span per domain step (validate, resolve provider, store, match, group notice,
 * deliver, start clock) parented where it happens; a deadline that fires later starts its own
 * trace, and the escalation it causes and a later closing link back to the report's trace. Spans
 * are collected in memory; the same services export to Zipkin under `npm start`.
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
  const t0 = performance.now();
  const mark = (what: string): void => t.diagnostic(`${what} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
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
  // In parallel: each leaves its consumer groups, which takes seconds per group one after another.
  t.after(async () => {
    const closing = performance.now();
    await Promise.all([enforcement, notification, hashCheck, intake].map((a) => a.close()));
    t.diagnostic(`services closed in ${((performance.now() - closing) / 1000).toFixed(1)} s`);
  });
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

  mark('services ready, report published');
  const [sent] = await recorder.waitForCount(topic(Topics.noticesSent), 1, 90_000);
  mark('notice sent');
  const noticeId = sent!.json<{ data: { noticeId: string } }>().data.noticeId;
  const all = (): ReadableSpan[] => exporter.getFinishedSpans();
  const inTrace = (): ReadableSpan[] => all().filter((s) => s.spanContext().traceId === traceId);
  const find = (pred: (s: ReadableSpan) => boolean): ReadableSpan | undefined => inTrace().find(pred);
  const parentOf = (s: ReadableSpan): ReadableSpan | undefined => all().find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId);
  const named = (name: string) => (s: ReadableSpan) => s.name === name;
  const consumed = (base: string) => (s: ReadableSpan) => s.name.startsWith('process') && s.name.includes(topic(base));
  const produced = (base: string) => (s: ReadableSpan) => s.name.startsWith('send') && s.name.includes(topic(base));
  const under = (pred: (s: ReadableSpan) => boolean, parent: (s: ReadableSpan) => boolean) => (s: ReadableSpan) => {
    if (!pred(s)) return false;
    const p = parentOf(s);
    return p !== undefined && parent(p);
  };

  // Each hop, and each domain step as a child of the span that handled its message; what a
  // step writes to its outbox is published as a child of the step.
  const chain: Array<[string, (s: ReadableSpan) => boolean]> = [
    ['partner -> reports.submitted', produced(Topics.reportsSubmitted)],
    ['intake consumes reports.submitted', consumed(Topics.reportsSubmitted)],
    ['intake validates (under its consume span)', under(named('hashcheck.validate'), consumed(Topics.reportsSubmitted))],
    ['intake resolves the provider (under its consume span)', under(named('hashcheck.resolve_provider'), consumed(Topics.reportsSubmitted))],
    ['intake stores the report (under its consume span)', under(named('hashcheck.store_report'), consumed(Topics.reportsSubmitted))],
    ['outbox relay -> reports.accepted (under store_report)', under(produced(Topics.reportsAccepted), named('hashcheck.store_report'))],
    ['hash-check consumes reports.accepted', consumed(Topics.reportsAccepted)],
    ['hash-check matches (under its consume span)', under(named('hashcheck.match'), consumed(Topics.reportsAccepted))],
    ['hash-check -> reports.matched (under match)', under(produced(Topics.reportsMatched), named('hashcheck.match'))],
    ['notification consumes reports.matched', consumed(Topics.reportsMatched)],
    ['notification groups the notice (under the consume span of its report)', under(named('hashcheck.group_notice'), consumed(Topics.reportsMatched))],
    ['notification delivers the notice (under the consume span of its report)', under(named('hashcheck.deliver'), consumed(Topics.reportsMatched))],
    ['notification -> notices.sent', produced(Topics.noticesSent)],
    ['enforcement consumes notices.sent', consumed(Topics.noticesSent)],
    ['enforcement starts the clock (under its consume span)', under(named('hashcheck.start_clock'), consumed(Topics.noticesSent))],
  ];
  // A span is exported when it ends, which can be after the messages it sent were consumed (the
  // delivery span closes after its outbox entry was relayed): wait for the whole chain first.
  await waitFor(() => chain.every(([, pred]) => find(pred) !== undefined), { what: 'every hop and step in the report trace', timeoutMs: 90_000 }).catch(() => undefined);
  const names = [...new Set(inTrace().map((s) => s.name))].sort();
  for (const [what, pred] of chain) assert.ok(find(pred), `${what} is in the report's trace; spans in it: ${names.join(', ')}`);
  t.diagnostic(`${inTrace().length} spans in the report's trace: ${names.join(', ')}`);
  mark('report trace complete');

  // Attributes from the registry: identifiers, never the content hash or the URL in clear.
  const attr = (name: string) => find(named(name))!.attributes;
  assert.equal(attr('hashcheck.validate')['hashcheck.report.id'], 'trace:1');
  assert.equal(attr('hashcheck.resolve_provider')['hashcheck.provider.id'], 'trace-hosting');
  assert.equal(attr('hashcheck.store_report')['hashcheck.outcome'], 'accepted');
  assert.equal(attr('hashcheck.match')['hashcheck.match.count'], 1);
  assert.deepEqual(attr('hashcheck.match')['hashcheck.list.ids'], ['trace-list']);
  assert.equal(attr('hashcheck.group_notice')['hashcheck.notice.id'], noticeId);
  assert.equal(attr('hashcheck.deliver')['hashcheck.notice.id'], noticeId);
  assert.equal(attr('hashcheck.start_clock')['hashcheck.notice.id'], noticeId);
  const caseId = attr('hashcheck.start_clock')['hashcheck.case.id'];
  assert.equal(typeof caseId, 'string');
  for (const s of inTrace().filter((x) => x.name.startsWith('hashcheck.'))) {
    const text = JSON.stringify(s.attributes);
    assert.ok(!text.includes(known) && !text.includes('t.jpg'), `${s.name} carries no hash and no URL: ${text}`);
  }

  // Every span of the trace hangs off another span of the trace, back to the partner's root.
  // (A parent is exported when it ends, after its children: give the last handlers a moment.)
  const orphans = (): string[] => {
    const ids = new Set(inTrace().map((s) => s.spanContext().spanId));
    return inTrace().filter((s) => s.name !== 'partner publish' && !ids.has(s.parentSpanContext?.spanId ?? '')).map((s) => s.name);
  };
  await waitFor(() => orphans().length === 0, { what: 'every span of the trace parented in it', timeoutMs: 30_000 }).catch(() => undefined);
  assert.deepEqual(orphans(), [], 'spans whose parent is not in the trace');

  // Much later: the deadline passes. Its work is a trace of its own with a link to the report's
  // trace; the escalation it causes is a child of the deadline and links to the report's trace too.
  clock.advance(25 * 60 * 60 * 1000);
  const escalate = await waitFor(() => all().find(under(named('hashcheck.escalate'), named('hashcheck.deadline'))), { what: 'the escalation span under the deadline span', timeoutMs: 90_000 });
  mark('escalated');
  const deadline = parentOf(escalate)!;
  assert.notEqual(deadline.spanContext().traceId, traceId, 'the deadline starts its own trace');
  assert.equal(deadline.links[0]?.context.traceId, traceId, 'and links back to the report it came from');
  assert.equal(deadline.attributes['hashcheck.case.id'], caseId);
  assert.equal(escalate.attributes['hashcheck.case.id'], caseId);
  assert.equal(typeof escalate.attributes['hashcheck.escalation.step'], 'string');
  assert.ok(escalate.links.some((l) => l.context.traceId === traceId), 'the escalation links back to the report trace');
  // Zipkin drops span links: the linked trace ids are also a tag an operator can search for.
  assert.deepEqual(escalate.attributes['hashcheck.link.trace_ids'], [traceId]);
  assert.deepEqual(deadline.attributes['hashcheck.link.trace_ids'], [traceId]);
  const escalatedTopic = (s: ReadableSpan) => produced(Topics.enforcementEscalated)(s) && s.spanContext().traceId === deadline.spanContext().traceId;
  await waitFor(() => all().find(under(escalatedTopic, named('hashcheck.escalate'))), { what: 'enforcement.escalated published under the escalation span', timeoutMs: 60_000 });

  // The provider confirms the removal over HTTP: the case closes in that request's trace, linked to the report.
  const removal = await enforcement.inject({ method: 'POST', url: `/v1/notices/${noticeId}/removal`, headers: svc, payload: {} });
  assert.equal(removal.statusCode, 200, removal.body);
  const closing = await waitFor(() => all().find((s) => s.name === 'hashcheck.close_case' && s.attributes['hashcheck.case.id'] === caseId), { what: 'the close_case span', timeoutMs: 60_000 });
  mark('case closed');
  assert.equal(closing.attributes['hashcheck.outcome'], 'removed');
  assert.notEqual(closing.spanContext().traceId, traceId, 'closing runs in the HTTP request trace');
  assert.ok(closing.links.some((l) => l.context.traceId === traceId), 'and links back to the report trace');
});
