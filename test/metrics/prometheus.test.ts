import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTelemetry, shutdownTelemetry } from '@hashcheck/telemetry/sdk';

/**
 * The Prometheus option as an operator turns it on: only standard OTEL_* variables, read by the
 * SDK the services start (`@hashcheck/telemetry/register` calls the same startTelemetry). The
 * four services run in-process on the real stack; one partner report goes the whole way, with a
 * webhook that fails once, a provider nobody can reach, a deadline that passes, an invalid report,
 * undecodable bytes (dead-lettered) and a PDQ sweep (probing); then every metric of the registry
 * must be on the scrape endpoint, typed.
 */
async function freePort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

const port = await freePort();
Object.assign(process.env, {
  OTEL_METRICS_EXPORTER: 'prometheus',
  OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
  OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_SERVICE_NAME: 'hashcheck-metrics-test',
});
// Before anything loads kafkajs or mongodb (the SDK patches them), as the preload does.
startTelemetry();

const { createHash } = await import('node:crypto');
const { MongoClient } = await import('mongodb');
const { Topics } = await import('@hashcheck/events');
const { Metric, MetricSpec } = await import('@hashcheck/telemetry');
const { infra, waitFor } = await import('@hashcheck/testing');
const { ADMIN_KEY, bootEnforcement, bootHashCheck, bootIntake, bootNotification, isolation, Partner, SERVICE_ADMIN_KEY, submitted } = await import('../e2e/pipeline-harness');

const WEBHOOK_SECRET = 'metrics-provider-webhook-secret-01';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** The name Prometheus shows: dots to underscores, `_total` on counters. */
function promName(name: string): string {
  const base = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return MetricSpec[name as keyof typeof MetricSpec].kind === 'counter' ? `${base}_total` : base;
}
const PROM_TYPE = { counter: 'counter', gauge: 'gauge', histogram: 'histogram' } as const;

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

test('the Prometheus scrape endpoint (OTEL_METRICS_EXPORTER=prometheus) serves every HashCheck metric, typed, with units', async (t) => {
  const env = infra(t);
  if (!env) return;
  t.after(() => shutdownTelemetry());
  const iso = isolation();
  const topic = (base: string) => iso.prefix + base;

  // The provider's webhook: the first request fails, every later one is accepted.
  let requests = 0;
  const webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      res.writeHead(requests === 1 ? 503 : 202, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((ok) => webhook.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => { webhook.closeAllConnections(); webhook.close(() => ok()); }));
  const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/abuse`;

  const { app: intake } = await bootIntake(env, iso);
  const hashCheck = await bootHashCheck(env, iso);
  const notification = await bootNotification(env, iso, { DEADLINE_DEFAULT: '3s' });
  // A 3-second deadline (stated by notification, applied by enforcement), so it passes during the
  // test; case counts recounted at every scrape.
  const enforcement = await bootEnforcement(env, iso, { DEADLINE_DEFAULT: '3s', METRICS_REFRESH_MS: '0' });
  const apps = [intake, hashCheck, notification, enforcement];
  t.after(async () => { await Promise.all(apps.map((a) => a.close())); });
  t.after(async () => {
    const m = new MongoClient(env.mongoUri);
    await m.connect();
    for (const s of ['intake', 'hash_check', 'notification', 'enforcement']) await m.db(`${iso.dbBase}_${s}`.slice(0, 60)).dropDatabase().catch(() => undefined);
    await m.close();
  });

  const adminIntake = { authorization: `Bearer ${ADMIN_KEY}` };
  const reachable = await intake.inject({
    method: 'POST', url: '/v1/providers', headers: adminIntake,
    payload: { id: 'metrics-hosting', name: 'Metrics Hosting', country: 'NL', abuseContacts: [], webhook: { url: webhookUrl, secret: WEBHOOK_SECRET }, domains: ['metrics-hosting.example'], ipRanges: [], category: 'hosting-nl' },
  });
  assert.equal(reachable.statusCode, 201, reachable.body);
  // E-mail only, and the test's notification has no SMTP server: undeliverable.
  const unreachable = await intake.inject({
    method: 'POST', url: '/v1/providers', headers: adminIntake,
    payload: { id: 'mail-only-hosting', name: 'Mail Only', country: 'NL', abuseContacts: ['abuse@mail-only.example'], domains: ['mail-only.example'], ipRanges: [], category: 'hosting-nl' },
  });
  assert.equal(unreachable.statusCode, 201, unreachable.body);

  const admin = { authorization: `Bearer ${SERVICE_ADMIN_KEY}` };
  const known = md5('known content for metrics');
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'metrics-list', name: 'Metrics list', source: 'hotline', category: 'csam-a', owner: 'test' } })).statusCode, 201);
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/lists/metrics-list/changes', headers: admin, payload: { add: [{ type: 'md5', hash: known }] } })).statusCode, 200);
  await waitFor(async () => (await hashCheck.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'md5', hash: known }] } })).json().results?.[0]?.match === true, { timeoutMs: 60_000, what: 'the list live in hash-check' });

  // A PDQ sweep (60 one-bit variations of one image in one request) raises the probing signal.
  const base = Buffer.from(known.repeat(2), 'hex');
  const sweep = Array.from({ length: 60 }, (_v, i) => {
    const b = Buffer.from(base);
    b[i >> 3] = (b[i >> 3] as number) ^ (1 << (i & 7));
    return { type: 'pdq', hash: b.toString('hex') };
  });
  assert.equal((await hashCheck.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: sweep } })).statusCode, 200);

  const partner = new Partner(env.brokers, topic(Topics.reportsSubmitted));
  t.after(() => partner.close());
  const hit = submitted({ reportId: 'metrics:1', source: 'partner-a', url: 'https://cdn.metrics-hosting.example/x.jpg', hashes: { md5: known } });
  const unreached = submitted({ reportId: 'metrics:2', source: 'partner-a', url: 'https://www.mail-only.example/y.jpg', hashes: { md5: known } });
  const invalid = submitted({ reportId: 'metrics:3', source: 'partner-a', url: 'https://cdn.metrics-hosting.example/z.jpg', hashes: { md5: 'nothex' } });
  await partner.send([...[hit, unreached, invalid].map((e) => ({ key: e.subject, value: JSON.stringify(e) })), { key: 'junk', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x01]) }]);

  // The deadline passes 3 s after delivery; its re-notice goes out; then the content is removed.
  const removals = new Partner(env.brokers, topic(Topics.removalsReported));
  t.after(() => removals.close());
  const cases = enforcement.enforcement.cases;
  const escalated = await waitFor(async () => (await cases.find({ stepIndex: { $gte: 0 } } as never))[0], { timeoutMs: 90_000, intervalMs: 500, what: 'an escalated case' });
  await removals.send([{ key: escalated.id, value: JSON.stringify({ id: crypto.randomUUID(), type: 'removals.reported', version: 1, occurredAt: new Date().toISOString(), source: 'recheck', subject: escalated.id, data: { caseId: escalated.id, status: 'removed', observedAt: new Date().toISOString(), reporter: 'recheck-partner' } }) }]);

  const expected = Object.values(Metric);
  let text = '';
  const missing = (): string[] => expected.filter((n) => !new RegExp(`^# TYPE ${promName(n)} ${PROM_TYPE[MetricSpec[n].kind]}$`, 'm').test(text));
  await waitFor(async () => {
    text = await scrape();
    return missing().length === 0;
  }, { timeoutMs: 120_000, intervalMs: 1000, what: 'every metric on the scrape endpoint' }).catch((err: Error) => {
    throw new Error(`${err.message}; missing: ${missing().join(', ')}`);
  });

  for (const n of expected) {
    const p = promName(n);
    assert.match(text, new RegExp(`^# UNIT ${p} ${MetricSpec[n].unit.replace(/[{}]/g, '\\$&')}$`, 'm'), `${n} has its unit`);
    assert.match(text, new RegExp(`^# HELP ${p} \\S`, 'm'), `${n} has its description`);
  }
  // A few values the flow fixes, read as Prometheus shows them.
  assert.match(text, /^hashcheck_notices_retried_total\{[^}]*hashcheck_notice_channel="webhook"[^}]*\} 1$/m);
  assert.match(text, /^hashcheck_notices_failed_total\{[^}]*hashcheck_outcome="undeliverable"[^}]*\} 1$/m);
  assert.match(text, /^hashcheck_cases_deadlines_total\{[^}]*hashcheck_escalation_step="notice"[^}]*hashcheck_outcome="missed"[^}]*\} 1$/m);
  assert.match(text, /^hashcheck_reports_rejected_total\{[^}]*hashcheck_reason="HC_[A-Z_]+"[^}]*\} 1$/m);
  assert.match(text, /^hashcheck_index_entries\{[^}]*hashcheck_list_id="metrics-list"[^}]*hashcheck_hash_type="md5"[^}]*\} 1$/m);
  // Never a hash or a URL in a label.
  assert.ok(!text.includes(known), 'no hash in the scrape');
  assert.ok(!text.includes('metrics-hosting.example'), 'no URL or host in the scrape');
  assert.ok(!text.includes(webhookUrl), 'no webhook URL in the scrape');
});
