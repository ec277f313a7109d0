/**
 * Sustained load, with the services as real processes (as scripts/start.ts runs them):
 *
 *  1. the bulk check API (hash-check POST /v1/check, 100 hashes a request) with autocannon, when
 *     hash-check serves it; and the hotline report API (intake POST /v1/reports, batches of 10);
 *  2. the partner report topic: a partner publishing as fast as intake keeps up, measuring how many
 *     reports intake turns into reports.accepted per second and the publish-to-accepted latency.
 *
 * For each: throughput, error rate, p99 latency, and the service's RSS sampled every second, with
 * the median of the last quarter of the run against the first quarter (flat memory: ratio ~1).
 *
 *   LOAD_SECONDS (60) per phase, LOAD_CONNECTIONS (8).
 *   npm run bench -- sustained     or   KAFKA_BROKERS=... MONGODB_URI=... npx tsx test/load/sustained.infra.bench.ts
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { Topics } from '@hashcheck/events';
import { randomName, TopicRecorder } from '@hashcheck/testing';
import { HOTLINE_KEY, ServiceProcess, sleep } from '../faults/harness';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 8);
const brokers = process.env.KAFKA_BROKERS;
const mongoUri = process.env.MONGODB_URI;
if (!brokers || !mongoUri) {
  console.error('needs KAFKA_BROKERS and MONGODB_URI (npm run bench starts a stack)');
  process.exit(1);
}

interface Result { name: string; value: number; unit: string }
const results: Result[] = [];
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const CHECKER_KEY = `checker-${randomUUID()}`;

const prefix = `${randomName('load')}.`;
const dbBase = randomName('load').replace(/-/g, '_');
const env = (service: string): Record<string, string> => ({
  KAFKA_BROKERS: brokers,
  MONGODB_URI: mongoUri,
  MONGODB_DATABASE: `${dbBase}_${service.replace(/-/g, '_')}`,
  KAFKA_TOPIC_PREFIX: prefix,
  LOG_LEVEL: 'warn',
  INTAKE_API_KEYS: `hotline:hotline:${sha256(HOTLINE_KEY)}`,
  INTAKE_MAX_BATCH: '1000',
  HASH_LIST_SECRET: `k1:${'cd'.repeat(24)}`,
  HASH_CHECK_BOOTSTRAP_KEYS: `loadtest:checker:${sha256(CHECKER_KEY)}`,
  // The load is one tenant: lift its per-tenant limit so the figure is the service's, not the limiter's.
  RATE_LIMIT_PER_MINUTE: '100000000',
});

function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function sampleRss(svc: ServiceProcess): () => number[] {
  const samples: number[] = [];
  const timer = setInterval(() => {
    const v = rssMb(svc.child?.pid);
    if (v !== undefined) samples.push(v);
  }, 1000);
  return () => {
    clearInterval(timer);
    return samples;
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

function memory(name: string, samples: number[]): void {
  const q = Math.max(1, Math.floor(samples.length / 4));
  const first = median(samples.slice(0, q));
  const last = median(samples.slice(-q));
  console.log(`${name}: RSS ${samples.length} samples, first quarter median ${first.toFixed(1)} MiB, last quarter ${last.toFixed(1)} MiB, max ${Math.max(...samples).toFixed(1)} MiB (${last / first <= 1.1 ? 'flat' : 'GROWING'})`);
  results.push({ name: `${name} RSS first quarter`, value: Number(first.toFixed(1)), unit: 'MiB' });
  results.push({ name: `${name} RSS last quarter`, value: Number(last.toFixed(1)), unit: 'MiB' });
  results.push({ name: `${name} RSS last/first quarter`, value: Number((last / first).toFixed(3)), unit: 'ratio' });
}

async function http(name: string, svc: ServiceProcess, path: string, auth: string, body: () => string): Promise<void> {
  const stop = sampleRss(svc);
  const r = await autocannon({
    url: `${svc.url}${path}`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: auth, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  const samples = stop();
  // autocannon counts a timeout also as an error; requests.total counts answered requests only.
  const non2xx = r.non2xx + r.errors;
  const total = r.requests.total + r.errors;
  console.log(`${name}: ${total} requests in ${SECONDS} s, ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`);
  results.push({ name: `${name} throughput`, value: Number(r.requests.average.toFixed(1)), unit: 'req/s' });
  results.push({ name: `${name} p99 latency`, value: r.latency.p99, unit: 'ms' });
  results.push({ name: `${name} error rate`, value: total ? Number((non2xx / total).toFixed(5)) : 1, unit: 'ratio' });
  memory(name, samples);
}

const services: ServiceProcess[] = [];
const logDir = join(tmpdir(), `hashcheck-load-${process.pid}`);
(await import('node:fs')).mkdirSync(logDir, { recursive: true });
try {
  const intake = new ServiceProcess('intake', env('intake'), logDir);
  const hashCheck = new ServiceProcess('hash-check', env('hash-check'), logDir);
  services.push(intake, hashCheck);
  await Promise.all(services.map((s) => s.start()));
  await Promise.all(services.map((s) => s.ready(180_000)));

  // 1a. The bulk check API, when hash-check serves it.
  const doc = (await (await fetch(`${hashCheck.url}/openapi.json`)).json()) as { paths?: Record<string, unknown> };
  if (doc.paths?.['/v1/check']) {
    let n = 0;
    await http('bulk check (100 hashes/request)', hashCheck, '/v1/check', `Bearer ${CHECKER_KEY}`, () =>
      JSON.stringify({ items: Array.from({ length: 100 }, () => ({ type: 'sha256', hash: sha256(String(n++)) })) }));
  } else {
    console.log('bulk check: hash-check serves no POST /v1/check yet; no figures');
  }

  // 1b. The hotline report API.
  let r = 0;
  await http('hotline reports (10/request)', intake, '/v1/reports', `Bearer ${HOTLINE_KEY}`, () =>
    JSON.stringify({ reports: Array.from({ length: 10 }, () => { r++; return { reportId: `load-http:${r}`, url: `https://load${r % 50}.example/${r}.jpg`, hashes: { sha256: sha256(`http-${r}`) } }; }) }));

  // 2. The partner topic: publish in batches as fast as intake keeps up (at most 2000 ahead).
  const recorder = await new TopicRecorder(brokers).start([prefix + Topics.reportsAccepted]);
  const kafka = new Kafka({ clientId: 'load-partner', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let seen = 0;
  let partnerAccepted = 0;
  // Only the partner's reports count (the recorder also sees the hotline phase's, from the beginning).
  const stop = sampleRss(intake);
  const t0 = Date.now();
  let i = 0;
  let sendErrors = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    const all = recorder.on(prefix + Topics.reportsAccepted);
    for (const m of all.slice(seen)) {
      const id = m.json<{ data: { reportId: string } }>().data.reportId;
      const at = sentAt.get(id);
      if (at !== undefined) {
        latencies.push(Date.now() - at);
        partnerAccepted++;
      }
    }
    seen = all.length;
    const have = partnerAccepted;
    if (i - have > 2000) {
      await sleep(50);
      continue;
    }
    const batch = Array.from({ length: 100 }, () => {
      const reportId = `load-kafka:${i++}`;
      const data = { reportId, source: 'partner-load', url: `https://k${i % 50}.example/${i}.jpg`, hashes: { sha256: sha256(`kafka-${i}`) } };
      return { key: reportId, value: JSON.stringify({ id: randomUUID(), type: 'reports.submitted', version: 1, occurredAt: new Date().toISOString(), source: 'partner-load', subject: reportId, data }) };
    });
    const now = Date.now();
    for (const m of batch) sentAt.set(m.key, now);
    try {
      await producer.send({ topic: prefix + Topics.reportsSubmitted, acks: -1, messages: batch });
    } catch {
      sendErrors++;
    }
  }
  const elapsed = (Date.now() - t0) / 1000;
  const done = partnerAccepted;
  const samples = stop();
  await producer.disconnect();
  await recorder.stop();
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? NaN;
  const p50 = latencies[Math.floor(latencies.length * 0.5)] ?? NaN;
  console.log(`partner topic: ${i} published, ${done} accepted in ${elapsed.toFixed(1)} s (${(done / elapsed).toFixed(1)}/s), publish->accepted p50 ${p50} ms, p99 ${p99} ms, publish errors ${sendErrors}`);
  results.push({ name: 'partner topic accepted throughput', value: Number((done / elapsed).toFixed(1)), unit: 'reports/s' });
  results.push({ name: 'partner topic publish->accepted p99', value: p99, unit: 'ms' });
  results.push({ name: 'partner topic publish error rate', value: i ? Number(((sendErrors * 100) / i).toFixed(5)) : 1, unit: 'ratio' });
  memory('intake under partner load', samples);
} finally {
  await Promise.allSettled(services.map((s) => s.kill('SIGTERM')));
  const { MongoClient } = await import('mongodb');
  const c = new MongoClient(mongoUri);
  await c.connect().then(async () => {
    for (const s of ['intake', 'hash-check']) await c.db(`${dbBase}_${s.replace(/-/g, '_')}`).dropDatabase().catch(() => undefined);
  }).catch(() => undefined);
  await c.close().catch(() => undefined);
}
console.log(JSON.stringify({ results }));
process.exit(0);
