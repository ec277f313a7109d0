/**
 * The demo `npm start` seeds once every service is ready: a demo hosting provider whose webhook is a
 * receiver running in this process (it logs every notice it gets), a demo hash list when the
 * hash-check API offers one, and one report published to Kafka exactly as a partner would. It
 * returns the lines that tell a newcomer how to follow that report through the pipeline.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Stack } from '@hashcheck/stack';

export const DEMO_PROVIDER = 'demo-hosting';
export const DEMO_DOMAIN = 'demo-hosting.example';
/** The demo "image": its MD5 is what the demo list holds and the demo report carries. */
export const DEMO_CONTENT = 'HashCheck demo content: not an image, just bytes with a known hash';
export const DEMO_MD5 = createHash('md5').update(DEMO_CONTENT).digest('hex');

interface WebhookReceiver {
  url: string;
  log: string;
  received: number;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A provider's abuse webhook, as small as it gets: logs what arrives and answers 202. */
async function startWebhookReceiver(logDir: string): Promise<WebhookReceiver> {
  const log = join(logDir, 'demo-webhook.log');
  const receiver: WebhookReceiver = { url: '', log, received: 0 };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      receiver.received++;
      const signature = Object.entries(req.headers).filter(([k]) => /signature|idempotency|hashcheck/i.test(k)).map(([k, v]) => `${k}=${String(v)}`).join(' ');
      let summary = `${body.length} bytes`;
      try {
        const parsed = JSON.parse(body) as { noticeId?: string; items?: unknown[] };
        summary = `notice ${parsed.noticeId ?? '?'} with ${parsed.items?.length ?? '?'} item(s)`;
      } catch {
        // Not JSON: the byte count says enough.
      }
      console.log(`[demo webhook] ${req.method} ${req.url}: ${summary} ${signature}`);
      appendFileSync(log, `${new Date().toISOString()} ${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n${body}\n\n`);
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ received: true }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/abuse`;
  return receiver;
}

async function call(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // Plain text answer.
  }
  return { status: res.status, json };
}

async function seedProvider(intake: string, key: string, webhook: WebhookReceiver): Promise<string> {
  const fields = {
    name: 'Demo Hosting B.V.',
    country: 'NL',
    abuseContacts: [`abuse@${DEMO_DOMAIN}`],
    webhook: { url: webhook.url, secret: randomBytes(24).toString('hex') },
    domains: [DEMO_DOMAIN],
    ipRanges: ['192.0.2.0/24'],
    category: 'hosting-nl',
  };
  const created = await call('POST', `${intake}/v1/providers`, key, { id: DEMO_PROVIDER, ...fields });
  if (created.status === 201) return `provider ${DEMO_PROVIDER} registered (domain ${DEMO_DOMAIN}, 192.0.2.0/24, webhook ${webhook.url})`;
  if (created.status === 409) {
    // From an earlier run on the same database: point its webhook at this run's receiver.
    const patched = await call('PATCH', `${intake}/v1/providers/${DEMO_PROVIDER}`, key, fields);
    if (patched.status === 200) return `provider ${DEMO_PROVIDER} updated to this run's webhook ${webhook.url}`;
    throw new Error(`updating the demo provider failed: ${patched.status} ${JSON.stringify(patched.json)}`);
  }
  throw new Error(`registering the demo provider failed: ${created.status} ${JSON.stringify(created.json)}`);
}

/** A demo list in hash-check (POST /v1/lists, then POST /v1/lists/{id}/changes) holding the demo content's MD5. */
async function seedHashList(hashCheck: string | undefined, key: string): Promise<string> {
  if (!hashCheck) return 'no hash-check service: the demo report will stay unchecked';
  const list = await call('POST', `${hashCheck}/v1/lists`, key, { id: 'demo-list', name: 'Demo list', source: 'hotline', category: 'demo', owner: 'HashCheck demo' });
  if (list.status >= 300 && list.status !== 409) return `demo hash list not created (${list.status}): ${JSON.stringify(list.json)}`;
  const added = await call('POST', `${hashCheck}/v1/lists/demo-list/changes`, key, { add: [{ type: 'md5', hash: DEMO_MD5 }], note: 'npm start demo' });
  if (added.status >= 300) return `demo hash not added (${added.status}): ${JSON.stringify(added.json)}`;
  // Changes reach the in-memory index through the change topic: wait until a check sees the hash,
  // so the demo report is not checked before the list is live.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const check = await call('POST', `${hashCheck}/v1/check`, key, { items: [{ type: 'md5', hash: DEMO_MD5 }] }).catch(() => ({ status: 0, json: null }));
    if ((check.json as { results?: Array<{ match: boolean }> } | null)?.results?.[0]?.match === true) return `hash list demo-list holds md5 ${DEMO_MD5}`;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  return `hash list demo-list holds md5 ${DEMO_MD5}, but hash-check did not report it live within 20 s`;
}

async function publishDemoReport(brokers: string, reportId: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'hashcheck-demo-partner', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const event = {
      id: crypto.randomUUID(),
      type: 'reports.submitted',
      version: 1,
      occurredAt: new Date().toISOString(),
      source: 'demo-partner',
      subject: reportId,
      data: { reportId, source: 'demo-partner', url: `https://img.${DEMO_DOMAIN}/gallery/demo.jpg`, hashes: { md5: DEMO_MD5 }, contentType: 'image' },
    };
    await producer.send({ topic: `${process.env.KAFKA_TOPIC_PREFIX ?? ''}hashcheck.reports.submitted.v1`, acks: -1, messages: [{ key: reportId, value: JSON.stringify(event) }] });
  } finally {
    await producer.disconnect();
  }
}

async function waitAccepted(intake: string, key: string, reportId: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = await call('GET', `${intake}/v1/reports/${encodeURIComponent(reportId)}`, key).catch(() => ({ status: 0, json: null }));
    if (r.status === 200) {
      const s = r.json as { status: string; providerId?: string | null; caseId?: string; pipeline?: { check: { state: string } } };
      return `report ${reportId}: ${s.status}, provider ${s.providerId ?? 'unresolved'}, check ${s.pipeline?.check.state ?? '-'}`;
    }
    await new Promise((ok) => setTimeout(ok, 300));
  }
  return `report ${reportId} not seen by intake within 30 s (see the intake log)`;
}

export async function seedDemo(urls: Record<string, string>, stack: Stack): Promise<string[]> {
  const key = process.env.HASHCHECK_DEMO_KEY;
  const intake = urls.intake;
  if (!key || !intake) return ['demo not seeded: HASHCHECK_DEMO_KEY or the intake URL is missing'];
  const lines = ['', 'Demo:'];
  const webhook = await startWebhookReceiver(stack.logDir);
  lines.push(`  ${await seedProvider(intake, key, webhook)}`);
  lines.push(`  ${await seedHashList(urls['hash-check'], key)}`);
  const reportId = `demo:${new Date().toISOString().replace(/[^0-9]/g, '').slice(0, 14)}`;
  await publishDemoReport(stack.kafkaBrokers, reportId);
  lines.push(`  published report ${reportId} to hashcheck.reports.submitted.v1 (md5 ${DEMO_MD5}, https://img.${DEMO_DOMAIN}/gallery/demo.jpg)`);
  lines.push(`  ${await waitAccepted(intake, key, reportId)}`);
  lines.push(
    '',
    'Follow it:',
    `  curl -s -H 'authorization: Bearer ${key}' ${intake}/v1/reports/${reportId}`,
    `  notices arriving at the demo provider are printed here and kept in ${webhook.log}`,
    `  more reports, as a partner: hashcheck report publish FILE.ndjson --brokers ${stack.kafkaBrokers}   (see docs/events.md)`,
    `  the demo API key (admin + hotline on intake) is in HASHCHECK_DEMO_KEY: ${key}`,
  );
  return lines;
}
