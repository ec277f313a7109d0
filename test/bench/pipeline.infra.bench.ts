/**
 * Reports per second and latency through the pipeline, side by side with raw kafkajs on the same
 * broker in the same run:
 *
 *   raw      kafkajs produce -> consume on a topic shaped like reports.submitted (6 partitions)
 *   hops     the pipeline's Kafka work alone: produce to a reports.submitted, a batch consumer
 *            forwarding each batch to a reports.accepted (one send, then the commit), another from
 *            there to a reports.matched, consumed: no database, no service code. It bounds what any
 *            design with these three topics can reach, to read the pipeline's ratio to raw against.
 *   pipeline partner produce to reports.submitted -> intake (validate, normalise, resolve, store +
 *            outbox) -> reports.accepted -> hash-check (match against a list holding every
 *            benchmark hash) -> reports.matched consumed. BENCH_TO=accepted stops at intake.
 *
 * For each: maximum throughput (a burst of N messages, first send to last receive), then p50/p99
 * latency at half of that maximum, offered at a steady rate. No timing is asserted.
 *
 *   KAFKA_BROKERS=... MONGODB_URI=... npx tsx test/bench/pipeline.infra.bench.ts
 *   BENCH_REPORTS (default 3000: the largest burst; it is sized to ~1 min at the warm-up's rate),
 *   BENCH_RAW_MESSAGES (default 20000), BENCH_RATE_SECONDS (default 8), BENCH_OUTBOX_POLL_MS (default 2000),
 *   BENCH_STEADY_RATE (reports/s offered in the latency phase; default half of the burst's rate;
 *   hops is then measured at that rate too),
 *   BENCH_RAW=off (no raw kafkajs baseline),
 *   BENCH_HOPS=off (no hops variant; with BENCH_RAW=off it is off too unless BENCH_HOPS=on),
 *   BENCH_HOPS_MESSAGES (default BENCH_RAW_MESSAGES: hops' burst)
 *   BENCH_PROCESSES=1 (intake and hash-check each in a process of its own, as `npm start` runs them;
 *   default: both in the benchmark's process, sharing its event loop with the load generator)
 *
 * Besides wall-clock figures it prints the CPU time per report of the burst, for the database
 * process (found by its port under /proc), the broker, and this process (which runs intake and
 * hash-check, and the Kafka-only variants' clients): they move much less than throughput when other
 * work shares the machine.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { registry, Topics } from '@hashcheck/events';
import { ensureTopics, createKafka } from '@hashcheck/kafka';
import { OUTBOX_PENDING } from '@hashcheck/mongo';
import { randomName } from '@hashcheck/testing';
import type { App } from '@hashcheck/http';
import { ADMIN_KEY, bootHashCheck, bootIntake, hashCheckEnv, intakeEnv, isolation, SERVICE_ADMIN_KEY, submitted } from '../e2e/pipeline-harness';
import { ServiceProcess } from '../faults/harness';
import { cpuMsOf, pidListeningOn } from './proc';

const brokers = process.env.KAFKA_BROKERS;
const mongoUri = process.env.MONGODB_URI;
if (!brokers || !mongoUri) {
  console.log('needs KAFKA_BROKERS and MONGODB_URI (npm run bench starts the local stack)');
  console.log(JSON.stringify({ results: [] }));
  process.exit(1);
}
const REPORTS = Number(process.env.BENCH_REPORTS ?? 3000);
const RAW = Number(process.env.BENCH_RAW_MESSAGES ?? 20000);
const HOPS = Number(process.env.BENCH_HOPS_MESSAGES ?? RAW);
// Follows BENCH_RAW by default: hops is read as a fraction of raw, and the tracing benchmark (which
// sets BENCH_RAW=off) counts all of this process's CPU as the pipeline's.
const HOPS_ON = process.env.BENCH_HOPS === 'on' || (process.env.BENCH_HOPS !== 'off' && process.env.BENCH_RAW !== 'off');
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 8);
const TO_MATCHED = process.env.BENCH_TO !== 'accepted';
// The relay's sweep interval (it backs off to 30 s while hints flow); a sweep is a collection scan on FerretDB.
const OUTBOX_POLL_MS = process.env.BENCH_OUTBOX_POLL_MS ?? '2000';
const STEADY_RATE = process.env.BENCH_STEADY_RATE ? Number(process.env.BENCH_STEADY_RATE) : undefined;
/** Each service in a process of its own, as `npm start` and production run them, instead of in the benchmark's. */
const PROCESSES = process.env.BENCH_PROCESSES === '1';
const SERVICES_CPU = PROCESSES ? 'intake + hash-check processes' : 'intake + hash-check + benchmark process';


const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const kafka = new Kafka({ clientId: randomName('bench'), brokers: brokers.split(','), logLevel: logLevel.NOTHING });

/** Receive times by key, on one topic, from a fresh consumer group. */
async function receiver(topic: string): Promise<{ consumer: Consumer; seen: Map<string, number>; ready: Promise<void> }> {
  const consumer = kafka.consumer({ groupId: randomName('bench-recv'), maxWaitTimeInMs: 20 });
  const seen = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  const ready = new Promise<void>((ok) => consumer.on(consumer.events.GROUP_JOIN, () => ok()));
  // The receivers are the benchmark's stopwatch, not part of the system: with tracing on, the
  // kafkajs instrumentation would start a span for every message they see (as costly as a
  // service's own spans), so they call the unwrapped `run` (as the services' batch consumers do).
  const run = (consumer.run as { __original?: Consumer['run'] }).__original ?? consumer.run;
  await run.call(consumer, {
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      for (const m of batch.messages) if (m.key) seen.set(m.key.toString(), now);
    },
  });
  await ready;
  return { consumer, seen, ready };
}

async function waitCount(seen: Map<string, number>, keys: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (keys.every((k) => seen.has(k))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

interface Burst { perSecond: number; received: number }
interface Steady { rate: number; p50: number; p99: number; received: number; offered: number; sentAt: Map<string, number> }

/** Sends `keys` as fast as batches of 500 allow, returns throughput from first send to last receipt. */
async function burst(producer: Producer, topic: string, seen: Map<string, number>, items: Array<{ key: string; value: string }>, timeoutMs: number): Promise<Burst> {
  const t0 = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < items.length; i += 500) sends.push(producer.send({ topic, acks: -1, messages: items.slice(i, i + 500) }));
  await Promise.all(sends);
  const keys = items.map((i) => i.key);
  await waitCount(seen, keys, timeoutMs);
  const got = keys.filter((k) => seen.has(k));
  const last = Math.max(...got.map((k) => seen.get(k)!));
  return { perSecond: (got.length / (last - t0)) * 1000, received: got.length };
}

/** Offers `rate` messages/s for RATE_SECONDS in 20 ms ticks; latency = receive - send. */
async function steady(producer: Producer, topic: string, seen: Map<string, number>, make: (i: number) => { key: string; value: string }, rate: number, timeoutMs: number): Promise<Steady> {
  const sentAt = new Map<string, number>();
  const tick = 20;
  const perTick = rate * (tick / 1000);
  const t0 = performance.now();
  let i = 0;
  let due = 0;
  const sends: Promise<unknown>[] = [];
  while (performance.now() - t0 < RATE_SECONDS * 1000) {
    due += perTick;
    const batch: Array<{ key: string; value: string }> = [];
    while (due >= 1) {
      batch.push(make(i++));
      due -= 1;
    }
    if (batch.length > 0) {
      const now = performance.now();
      for (const m of batch) sentAt.set(m.key, now);
      sends.push(producer.send({ topic, acks: -1, messages: batch }));
    }
    const next = t0 + Math.ceil((performance.now() - t0 + 0.001) / tick) * tick;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  await Promise.all(sends);
  await waitCount(seen, [...sentAt.keys()], timeoutMs);
  const lat = [...sentAt].filter(([k]) => seen.has(k)).map(([k, s]) => seen.get(k)! - s).sort((a, b) => a - b);
  return { rate, p50: percentile(lat, 50), p99: percentile(lat, 99), received: lat.length, offered: sentAt.size, sentAt };
}

const MD5 = (i: number, salt: string) => createHash('md5').update(`${salt}:${i}`).digest('hex');

/** Fresh topics shaped like the pipeline's (6 partitions each), under a prefix of their own. */
async function freshTopics(tag: string, topics: string[]): Promise<string[]> {
  const prefix = `${randomName(tag)}.`;
  const specs = topics.map((t) => registry.topic(t)!);
  const admin = createKafka({ brokers: brokers!, clientId: 'bench-admin' });
  await ensureTopics(admin, specs, { prefix });
  return specs.map((s) => prefix + s.name);
}

/** Payloads of the size of a real report event, keyed as a partner keys them. */
const reportSized = (tag: string) => (i: number) => {
  const e = submitted({ reportId: `${tag}:${i}:${randomUUID().slice(0, 8)}`, source: 'bench', url: `https://host-${i % 50}.example/p/${i}.jpg`, hashes: { md5: MD5(i, tag) } });
  return { key: e.subject, value: JSON.stringify(e) };
};

/**
 * A Kafka-only variant's figures; CPU in ms per message of the burst. `atSteadyRate`: the latency
 * at the pipeline's offered rate (BENCH_STEADY_RATE), what the hops alone cost a report there.
 */
interface KafkaOnly { max: Burst; half: Steady; n: number; brokerCpu: number; selfCpu: number; atSteadyRate?: Steady }

/** The phases of the Kafka-only variants: a warm-up, a burst of `n` with its CPU, then half of its rate. */
async function measureKafka(producer: Producer, topic: string, seen: Map<string, number>, make: (i: number) => { key: string; value: string }, n: number, alsoAt?: number): Promise<KafkaOnly> {
  await burst(producer, topic, seen, Array.from({ length: 500 }, (_, i) => make(-1 - i)), 30_000); // warm-up
  const kafkaPid = brokerPid();
  const cpu0 = { broker: cpuMsOf(kafkaPid), self: selfCpuMs() };
  const max = await burst(producer, topic, seen, Array.from({ length: n }, (_, i) => make(i)), 60_000);
  const brokerCpu = (cpuMsOf(kafkaPid) - cpu0.broker) / max.received;
  const selfCpu = (selfCpuMs() - cpu0.self) / max.received;
  const half = await steady(producer, topic, seen, (i) => make(n + i), Math.max(1, Math.round(max.perSecond / 2)), 30_000);
  const atSteadyRate = alsoAt === undefined ? undefined : await steady(producer, topic, seen, (i) => make(10 * n + i), alsoAt, 30_000);
  return { max, half, n, brokerCpu, selfCpu, ...(atSteadyRate ? { atSteadyRate } : {}) };
}

async function rawBaseline(): Promise<KafkaOnly> {
  const [topic] = await freshTopics('bench-raw', [Topics.reportsSubmitted]);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const { consumer, seen } = await receiver(topic!);
  const r = await measureKafka(producer, topic!, seen, reportSized('raw'), RAW);
  await consumer.disconnect();
  await producer.disconnect();
  return r;
}

/**
 * One hop of the pipeline with no service in it: what a service does with Kafka per fetched batch
 * (one send of the batch to the next topic, then its offsets committed), and nothing else.
 */
async function forwarder(from: string, to: string): Promise<{ stop(): Promise<void> }> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // The services' fetch wait; a fetch returns as soon as there is data, so it delays nothing.
  const consumer = kafka.consumer({ groupId: randomName('bench-hop'), maxWaitTimeInMs: 1000 });
  await consumer.connect();
  // The topic is fresh: from the beginning, no message sent before the group's offsets are set is skipped.
  await consumer.subscribe({ topic: from, fromBeginning: true });
  const ready = new Promise<void>((ok) => consumer.on(consumer.events.GROUP_JOIN, () => ok()));
  // Unwrapped, as the services' batch consumers and the receivers call it (see receiver()).
  const run = (consumer.run as { __original?: Consumer['run'] }).__original ?? consumer.run;
  await run.call(consumer, {
    // All six partitions at once and a commit after every batch (kafkajs' autoCommit with eachBatch),
    // as the services' report consumers run.
    autoCommit: true,
    partitionsConsumedConcurrently: 6,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      await producer.send({ topic: to, acks: -1, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) });
      resolveOffset(batch.lastOffset());
      await heartbeat();
    },
  });
  await ready;
  return {
    stop: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

/**
 * The pipeline's three topics and two hops with Kafka's work only: the most that any design with
 * these hops can reach on this broker, to read the pipeline's ratio to raw against.
 */
async function kafkaHops(): Promise<KafkaOnly> {
  const [a, b, c] = await freshTopics('bench-hops', [Topics.reportsSubmitted, Topics.reportsAccepted, Topics.reportsMatched]);
  const { consumer, seen } = await receiver(c!);
  const second = await forwarder(b!, c!);
  const first = await forwarder(a!, b!);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    return await measureKafka(producer, a!, seen, reportSized('hops'), HOPS, STEADY_RATE);
  } finally {
    await first.stop();
    await second.stop();
    await consumer.disconnect();
    await producer.disconnect();
  }
}

/** Waits until no document of these collections holds outbox entries and no entry is marked pending. */
async function outboxesEmpty(collections: Array<[db: string, coll: string]>, timeoutMs: number): Promise<void> {
  const m = new MongoClient(mongoUri!, { maxPoolSize: 1 });
  await m.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (const [db, coll] of collections) {
      while ((await m.db(db).collection(coll).findOne({ 'outbox.0': { $exists: true } }, { projection: { _id: 1 } })) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
      }
      while ((await m.db(db).collection(OUTBOX_PENDING).findOne({ collection: coll }, { projection: { _id: 1 } })) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await m.close();
  }
}

interface CpuPerReport { database: number; broker: number; services: number }

/** The broker of KAFKA_BROKERS' first address, when it runs on this machine. */
const brokerPid = (): number | undefined => pidListeningOn(Number(brokers!.split(',')[0]!.split(':').at(-1)));

/** A service the benchmark drives over HTTP: in this process (fastify's inject) or a process of its own. */
interface BenchService {
  call(method: 'POST', url: string, headers: Record<string, string>, payload: unknown): Promise<{ status: number; body: string }>;
  /** CPU ms used so far by the process running it (this one, when in-process). */
  cpuMs(): number;
  close(): Promise<unknown>;
}

function inProcess(app: App): BenchService {
  return {
    call: async (method, url, headers, payload) => {
      const r = await app.inject({ method, url, headers, payload: payload as Record<string, unknown> });
      return { status: r.statusCode, body: r.body };
    },
    cpuMs: selfCpuMs,
    close: () => app.close(),
  };
}

/** As scripts/start.ts runs it: `node --import tsx services/<name>/src/main.ts`, with the benchmark's settings. */
async function ownProcess(name: string, env: Record<string, string>, logDir: string): Promise<BenchService> {
  const svc = new ServiceProcess(name, env, logDir);
  await svc.start();
  await svc.ready();
  return {
    call: async (method, url, headers, payload) => {
      const r = await fetch(svc.url + url, { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      return { status: r.status, body: await r.text() };
    },
    cpuMs: () => cpuMsOf(svc.child?.pid),
    close: () => svc.kill('SIGTERM'),
  };
}

async function pipeline(): Promise<{ max: Burst; half: Steady; endsAt: string; n: number; cpu: CpuPerReport }> {
  const iso = isolation();
  const env = { brokers: brokers!, mongoUri: mongoUri! };
  const intakeExtra = { OUTBOX_POLL_MS, ...(process.env.BENCH_INTAKE_CONCURRENCY ? { INTAKE_CONSUMER_CONCURRENCY: process.env.BENCH_INTAKE_CONCURRENCY } : {}) };
  const logDir = mkdtempSync(join(tmpdir(), 'hashcheck-bench-'));
  const intake = PROCESSES ? await ownProcess('intake', { ...intakeEnv(env, iso), ...intakeExtra, LOG_LEVEL: 'warn' }, logDir) : inProcess((await bootIntake(env, iso, intakeExtra)).app);
  let hashCheck: BenchService | undefined;
  // Content hashes cycle through a pool that the benchmark list holds, so every report matches.
  const POOL = REPORTS + 1000;
  const hashOf = (i: number) => MD5(((i % POOL) + POOL) % POOL, iso.prefix);
  try {
    const provider = await intake.call('POST', '/v1/providers', { authorization: `Bearer ${ADMIN_KEY}` }, { id: 'bench-hosting', name: 'Bench', country: 'NL', abuseContacts: ['abuse@bench.example'], domains: ['bench.example'], ipRanges: ['192.0.2.0/24'], category: 'hosting-nl' });
    if (provider.status !== 201 && provider.status !== 200) throw new Error(`creating the benchmark provider failed: ${provider.status} ${provider.body}`);
    if (TO_MATCHED) {
      hashCheck = PROCESSES ? await ownProcess('hash-check', { ...hashCheckEnv(env, iso), OUTBOX_POLL_MS, LOG_LEVEL: 'warn' }, logDir) : inProcess(await bootHashCheck(env, iso, { OUTBOX_POLL_MS }));
      const admin = { authorization: `Bearer ${SERVICE_ADMIN_KEY}` };
      const list = await hashCheck.call('POST', '/v1/lists', admin, { id: 'bench-list', name: 'Bench list', source: 'other', category: 'bench', owner: 'bench' });
      if (list.status !== 201 && list.status !== 200) throw new Error(`creating the benchmark list failed: ${list.status} ${list.body}`);
      for (let i = 0; i < POOL; i += 2000) {
        const add = Array.from({ length: Math.min(2000, POOL - i) }, (_, k) => ({ type: 'md5', hash: hashOf(i + k) }));
        const r = await hashCheck.call('POST', '/v1/lists/bench-list/changes', admin, { add });
        if (r.status !== 200) throw new Error(`adding benchmark hashes failed: ${r.status} ${r.body}`);
      }
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const r = await hashCheck.call('POST', '/v1/check', admin, { items: [{ type: 'md5', hash: hashOf(POOL - 1) }] });
        if ((JSON.parse(r.body) as { results?: Array<{ match: boolean }> }).results?.[0]?.match) break;
        await new Promise((r2) => setTimeout(r2, 200));
      }
    }
    if (hashCheck) process.stderr.write(`pipeline: ${POOL} benchmark hashes live in hash-check\n`);
    const endsAt = TO_MATCHED ? Topics.reportsMatched : Topics.reportsAccepted;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const { consumer, seen } = await receiver(iso.prefix + endsAt);
    // Where the time goes: reports.accepted is also watched, to split the latency at intake's output.
    const middle = TO_MATCHED ? await receiver(iso.prefix + Topics.reportsAccepted) : undefined;
    const input = iso.prefix + Topics.reportsSubmitted;
    const make = (i: number) => {
      const e = submitted({ reportId: `bench:${i}`, source: 'bench', url: `https://img${i % 50}.bench.example/p/${i}.jpg`, hashes: { md5: hashOf(i) } });
      return { key: e.subject, value: JSON.stringify(e) };
    };
    const warm = await burst(producer, input, seen, Array.from({ length: 200 }, (_, i) => make(-1 - i)), 120_000); // warm-up
    // About a minute of work at the warm-up's rate (at least 300, at most BENCH_REPORTS): a burst the
    // pipeline cannot finish within the timeout would leave a backlog that the latency phase then
    // measures instead of the latency.
    const n = Math.min(REPORTS, Math.max(300, Math.round(warm.perSecond * 60)));
    process.stderr.write(`pipeline: warm-up done (${warm.perSecond.toFixed(0)}/s); burst of ${n}\n`);
    const burstItems = Array.from({ length: n }, (_, i) => make(i));
    const dbPid = pidListeningOn(Number(new URL(mongoUri!).port));
    // In-process, the services' CPU is this process's (the benchmark's clients included); otherwise theirs.
    const servicesCpu = (): number => (PROCESSES ? intake.cpuMs() + (hashCheck?.cpuMs() ?? 0) : selfCpuMs());
    const kafkaPid = brokerPid();
    const cpu0 = { database: cpuMsOf(dbPid), broker: cpuMsOf(kafkaPid), services: servicesCpu() };
    const max = await burst(producer, input, seen, burstItems, 240_000);
    const cpu: CpuPerReport = { database: (cpuMsOf(dbPid) - cpu0.database) / max.received, broker: (cpuMsOf(kafkaPid) - cpu0.broker) / max.received, services: (servicesCpu() - cpu0.services) / max.received };
    process.stderr.write(`pipeline: burst ${max.received}/${n} at ${max.perSecond.toFixed(0)}/s; CPU per report: database ${cpu.database.toFixed(2)} ms, broker ${cpu.broker.toFixed(2)} ms, ${SERVICES_CPU} ${cpu.services.toFixed(2)} ms\n`);
    if (!(await waitCount(seen, burstItems.map((m) => m.key), 240_000))) process.stderr.write('pipeline: burst backlog not cleared; the latency phase includes it\n');
    // The burst is received before the relays have removed what they published; the latency phase
    // measures a steady load, so it starts once that clean-up is over.
    await outboxesEmpty([[`${iso.dbBase}_intake`.slice(0, 60), 'reports'], ...(TO_MATCHED ? [[`${iso.dbBase}_hash_check`, 'report_checks'] as [string, string]] : [])], 120_000);
    // The services share this process's event loop: a long task there delays every report.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const half = await steady(producer, input, seen, (i) => make(n + i), STEADY_RATE ?? Math.max(1, Math.round(max.perSecond / 2)), 120_000);
    loop.disable();
    process.stderr.write(`pipeline: steady, event loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms\n`);
    process.stderr.write(`pipeline: steady ${half.received}/${half.offered} at ${half.rate}/s\n`);
    if (middle) {
      const split = (from: (k: string) => number | undefined, to: (k: string) => number | undefined) => {
        const d = [...half.sentAt.keys()].map((k) => [from(k), to(k)]).filter((p): p is [number, number] => p[0] !== undefined && p[1] !== undefined).map(([a, b]) => b - a).sort((a, b) => a - b);
        return `p50 ${percentile(d, 50).toFixed(1)} ms, p99 ${percentile(d, 99).toFixed(1)} ms`;
      };
      process.stderr.write(`pipeline: steady, submitted -> accepted ${split((k) => half.sentAt.get(k), (k) => middle.seen.get(k))}; accepted -> matched ${split((k) => middle.seen.get(k), (k) => seen.get(k))}\n`);
      await middle.consumer.disconnect();
    }
    await consumer.disconnect();
    await producer.disconnect();
    return { max, half, endsAt, n, cpu };
  } finally {
    // A service that does not stop within 30 s must not keep the benchmark from reporting.
    await Promise.race([Promise.all([intake.close(), hashCheck?.close()]), new Promise((r) => setTimeout(r, 30_000).unref())]);
    const m = new MongoClient(mongoUri!);
    await m.connect();
    await m.db(intakeEnv(env, iso).MONGODB_DATABASE!).dropDatabase().catch(() => undefined);
    await m.db(`${iso.dbBase}_hash_check`).dropDatabase().catch(() => undefined);
    await m.close();
  }
}

// BENCH_RAW=off: no raw baseline (the tracing benchmark compares pipeline runs only; a traced raw
// phase would also spend the process's CPU on a send span per message before the pipeline starts).
const raw = process.env.BENCH_RAW === 'off' ? undefined : await rawBaseline();
const kafkaLine = (label: string, r: KafkaOnly) => `${label.padEnd(17)}max ${r.max.perSecond.toFixed(0)} msg/s (${r.max.received}/${r.n}); at ${r.half.rate}/s: p50 ${r.half.p50.toFixed(1)} ms, p99 ${r.half.p99.toFixed(1)} ms (${r.half.received}/${r.half.offered})`;
if (raw) console.log(kafkaLine('raw kafkajs', raw));
else console.log('raw kafkajs      baseline not run (BENCH_RAW=off)');
const hops = HOPS_ON ? await kafkaHops() : undefined;
const hopsRatio = hops && raw ? hops.max.perSecond / raw.max.perSecond : NaN;
if (hops) {
  console.log(kafkaLine('hops (kafkajs)', hops));
  const vsRaw = (v: number | undefined) => (raw ? ` (raw ${v!.toFixed(3)} ms)` : '');
  console.log(`hops CPU per message in the burst: broker ${hops.brokerCpu.toFixed(3)} ms${vsRaw(raw?.brokerCpu)}, benchmark process ${hops.selfCpu.toFixed(3)} ms${vsRaw(raw?.selfCpu)}`);
  if (hops.atSteadyRate) console.log(`hops (kafkajs)   at the pipeline's ${hops.atSteadyRate.rate}/s: p50 ${hops.atSteadyRate.p50.toFixed(1)} ms, p99 ${hops.atSteadyRate.p99.toFixed(1)} ms (${hops.atSteadyRate.received}/${hops.atSteadyRate.offered})`);
  if (raw) console.log(`hops / raw throughput: ${(hopsRatio * 100).toPrecision(2)} % (the Kafka hops alone, against the pipeline's target of >= 50 %)`);
} else console.log('hops (kafkajs)   not run (BENCH_HOPS=off, or BENCH_RAW=off)');
const p = await pipeline();
const stage = `reports.submitted -> ${p.endsAt.replace(/^hashcheck\./, '').replace(/\.v1$/, '')}`;
console.log(`pipeline (${stage}) max ${p.max.perSecond.toFixed(0)} reports/s (${p.max.received}/${p.n}); at ${p.half.rate}/s: p50 ${p.half.p50.toFixed(1)} ms, p99 ${p.half.p99.toFixed(1)} ms (${p.half.received}/${p.half.offered})`);
if (p.endsAt !== Topics.reportsMatched) console.log('NOTE: measured to reports.accepted only (BENCH_TO=accepted): intake alone, without hash-check.');
console.log(`pipeline CPU per report in the burst: database ${p.cpu.database.toFixed(2)} ms, broker ${p.cpu.broker.toFixed(2)} ms${raw ? ` (raw: ${raw.brokerCpu.toFixed(3)} ms a message)` : ''}, ${SERVICES_CPU} ${p.cpu.services.toFixed(2)} ms`);
const ratio = raw ? p.max.perSecond / raw.max.perSecond : NaN;
if (raw) console.log(`pipeline / raw throughput: ${(ratio * 100).toPrecision(2)} % (target >= 50 %); pipeline p99 at half load ${p.half.p99.toFixed(0)} ms (target < 250 ms)`);
const baseline = (value: number) => (raw ? { baseline: value } : {});
const HOPS_NAME = 'kafkajs hops (submitted -> accepted -> matched, no services)';
console.log(JSON.stringify({
  results: [
    { name: `pipeline throughput (${stage})`, value: Math.round(p.max.perSecond), unit: 'reports/s', ...(raw ? { baseline: Math.round(raw.max.perSecond), ratio: Number(ratio.toPrecision(3)) } : {}) },
    { name: `pipeline p50 latency at ${p.half.rate}/s (${stage})`, value: Number(p.half.p50.toFixed(1)), unit: 'ms', ...baseline(Number(raw?.half.p50.toFixed(1))) },
    { name: `pipeline p99 latency at ${p.half.rate}/s (${stage})`, value: Number(p.half.p99.toFixed(1)), unit: 'ms', ...baseline(Number(raw?.half.p99.toFixed(1))) },
    ...(raw ? [{ name: 'raw kafkajs produce->consume throughput', value: Math.round(raw.max.perSecond), unit: 'msg/s' }] : []),
    ...(hops
      ? [
          { name: `${HOPS_NAME} throughput`, value: Math.round(hops.max.perSecond), unit: 'msg/s', ...(raw ? { baseline: Math.round(raw.max.perSecond), ratio: Number(hopsRatio.toPrecision(3)) } : {}) },
          { name: `${HOPS_NAME} p50 latency at ${hops.half.rate}/s`, value: Number(hops.half.p50.toFixed(1)), unit: 'ms', ...baseline(Number(raw?.half.p50.toFixed(1))) },
          { name: `${HOPS_NAME} p99 latency at ${hops.half.rate}/s`, value: Number(hops.half.p99.toFixed(1)), unit: 'ms', ...baseline(Number(raw?.half.p99.toFixed(1))) },
          ...(hops.atSteadyRate
            ? [
                { name: `${HOPS_NAME} p50 latency at ${hops.atSteadyRate.rate}/s`, value: Number(hops.atSteadyRate.p50.toFixed(1)), unit: 'ms' },
                { name: `${HOPS_NAME} p99 latency at ${hops.atSteadyRate.rate}/s`, value: Number(hops.atSteadyRate.p99.toFixed(1)), unit: 'ms' },
              ]
            : []),
          ...(Number.isFinite(hops.brokerCpu) ? [{ name: `${HOPS_NAME} broker CPU per message, burst`, value: Number(hops.brokerCpu.toFixed(3)), unit: 'ms', ...baseline(Number(raw?.brokerCpu.toFixed(3))) }] : []),
          { name: `${HOPS_NAME} benchmark process CPU per message, burst`, value: Number(hops.selfCpu.toFixed(3)), unit: 'ms', ...baseline(Number(raw?.selfCpu.toFixed(3))) },
        ]
      : []),
    ...(Number.isFinite(p.cpu.database) ? [{ name: `database CPU per report, burst (${stage})`, value: Number(p.cpu.database.toFixed(2)), unit: 'ms' }] : []),
    ...(Number.isFinite(p.cpu.broker) ? [{ name: `broker CPU per report, burst (${stage})`, value: Number(p.cpu.broker.toFixed(2)), unit: 'ms', ...baseline(Number(raw?.brokerCpu.toFixed(3))) }] : []),
    { name: `services CPU per report, burst (${stage})`, value: Number(p.cpu.services.toFixed(2)), unit: 'ms' },
  ],
}));
process.exit(0);
