/**
 * The trace an operator opens in the trace viewer (issue 8): the four services run as real
 * processes exporting to the local stack's Zipkin, a partner publishes one report, and Zipkin's
 * own API returns one trace holding the spans of intake, hash-check, notification and enforcement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topics } from '@hashcheck/events';
import { infra, randomName, waitFor } from '@hashcheck/testing';
import { ServiceProcess, HOTLINE_KEY } from '../faults/harness';
import { Partner, submitted } from '../e2e/pipeline-harness';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const ADMIN = 'zipkin-admin-key-0123456789abcdef0123456789';

interface ZipkinSpan { traceId: string; name?: string; localEndpoint?: { serviceName?: string } }

test('one report is one trace in Zipkin, across all four services as real processes', async (t) => {
  const env = infra(t);
  if (!env) return;
  const zipkin = process.env.ZIPKIN_URL;
  if (!zipkin) return t.skip('needs ZIPKIN_URL: `npm test` starts Zipkin with the stack unless HASHCHECK_TEST_ZIPKIN=0');
  const prefix = `${randomName('zipkin')}.`;
  const dbBase = randomName('zk').replace(/-/g, '_');
  const logDir = join(process.env.HASHCHECK_STACK_LOG_DIR ?? tmpdir(), 'zipkin-test', prefix.slice(0, -1));
  mkdirSync(logDir, { recursive: true });
  const base = (service: string): Record<string, string> => ({
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: `${dbBase}_${service.replace(/-/g, '_')}`,
    KAFKA_TOPIC_PREFIX: prefix,
    OUTBOX_POLL_MS: '200',
    LOG_LEVEL: 'warn',
    INTAKE_API_KEYS: `hotline:hotline:${sha256(HOTLINE_KEY)},ops:admin:${sha256(ADMIN)}`,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin:${sha256(ADMIN)}`,
    ADMIN_API_KEY: ADMIN,
    RETENTION_INTERVAL_MS: '0',
    HASH_LIST_SECRET: `k1:${'cd'.repeat(24)}`,
    PROVIDER_SECRET_KEY: `k1:${'42'.repeat(32)}`,
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1/32',
    NOTICE_WINDOW_MS: '200',
    OTEL_TRACES_EXPORTER: 'zipkin',
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${zipkin}/api/v2/spans`,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  const names = ['intake', 'hash-check', 'notification', 'enforcement'];
  const services = names.map((n) => new ServiceProcess(n, base(n), logDir));
  t.after(async () => { await Promise.allSettled(services.map((s) => s.kill('SIGTERM'))); });
  await Promise.all(services.map((s) => s.start()));
  await Promise.all(services.map((s) => s.ready()));
  const [intake, hashCheck] = services as [ServiceProcess, ServiceProcess];
  const call = async (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const hook = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(202).end('{}')); });
  await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => { hook.closeAllConnections(); hook.close(() => ok()); }));
  const webhook = { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/abuse`, secret: 'zipkin-webhook-secret-0123456789ab' };

  const known = createHash('md5').update('zipkin traced content').digest('hex');
  assert.equal((await call(`${intake.url}/v1/providers`, { id: 'zk-hosting', name: 'ZK Hosting', country: 'NL', abuseContacts: [], webhook, domains: ['zk-hosting.example'], ipRanges: [], category: 'hosting-nl' })).status, 201);
  assert.equal((await call(`${hashCheck.url}/v1/lists`, { id: 'zk-list', name: 'ZK list', source: 'hotline', category: 'csam-a', owner: 'e2e' })).status, 201);
  assert.equal((await call(`${hashCheck.url}/v1/lists/zk-list/changes`, { add: [{ type: 'md5', hash: known }] })).status, 200);
  await waitFor(async () => ((await (await call(`${hashCheck.url}/v1/check`, { items: [{ type: 'md5', hash: known }] })).json()) as { results?: Array<{ match?: boolean }> }).results?.[0]?.match === true, { what: 'the list live' });

  const partner = new Partner(env.brokers, prefix + Topics.reportsSubmitted);
  t.after(() => partner.close());
  await partner.publish([submitted({ reportId: 'zipkin:1', source: 'partner-a', url: 'https://cdn.zk-hosting.example/z.jpg', hashes: { md5: known } })]);

  // Zipkin's API, as the UI uses it: the trace that holds intake's consume of this prefix's topic.
  const noticeSent = `process ${prefix}${Topics.noticesSent}`;
  const wanted = ['hashcheck-intake', 'hashcheck-hash-check', 'hashcheck-notification', 'hashcheck-enforcement'];
  const found = await waitFor(async () => {
    const res = await fetch(`${zipkin}/api/v2/traces?serviceName=hashcheck-intake&spanName=${encodeURIComponent(`process ${prefix}${Topics.reportsSubmitted}`)}&limit=10&lookback=600000`);
    const traces = (await res.json()) as ZipkinSpan[][];
    const full = await Promise.all(traces.map(async (tr) => (await (await fetch(`${zipkin}/api/v2/trace/${tr[0]!.traceId}`)).json()) as ZipkinSpan[]));
    return full.find((spans) => wanted.every((svc) => spans.some((s) => s.localEndpoint?.serviceName === svc)) && spans.some((s) => s.name === noticeSent));
  }, { what: `a trace in Zipkin with spans from ${wanted.join(', ')}`, timeoutMs: 120_000, intervalMs: 1000 });
  const services_ = [...new Set(found.map((s) => s.localEndpoint?.serviceName))].sort();
  t.diagnostic(`trace ${found[0]!.traceId}: ${found.length} spans from ${services_.join(', ')}`);
  assert.ok(found.some((s) => s.name === noticeSent && s.localEndpoint?.serviceName === 'hashcheck-enforcement'), 'enforcement takes the sent notice within the report trace');
});
