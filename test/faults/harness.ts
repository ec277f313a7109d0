/**
 * Fault scenarios with real processes: a stack of our own (so the broker and the database can be
 * killed without disturbing anyone else's tests), services spawned exactly as scripts/start.ts does,
 * a partner that keeps publishing until each report is acknowledged, and the accounting of what
 * came out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { Topics } from '@hashcheck/events';
import { startStack, type Stack } from '@hashcheck/stack';
import { randomName, TopicRecorder, waitFor } from '@hashcheck/testing';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FULL = process.env.HASHCHECK_FAULTS === 'full';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Our own stack, or the reason there is none (no JDK, no Go toolchain, HASHCHECK_FAULTS=off). The caller stops it. */
export async function ownStack(): Promise<Stack | string> {
  if (process.env.HASHCHECK_FAULTS === 'off') return 'HASHCHECK_FAULTS=off';
  const env = { ...process.env };
  // The stack of the test run (if any) must not be used: these scenarios kill the broker and the database.
  delete env.KAFKA_BROKERS;
  delete env.MONGODB_URI;
  delete env.ZIPKIN_URL;
  try {
    return await startStack({ env, log: false, kafkaHeapMb: 384 });
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'HC_STACK_PREREQ_MISSING') return `needs a local stack of its own (these scenarios kill the broker and the database): ${e.message}`;
    throw err;
  }
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => ok(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export const HOTLINE_KEY = 'faults-hotline-key-0123456789';

/** One service as a real process, like scripts/start.ts runs it. Restartable on the same port. */
export class ServiceProcess {
  child: ChildProcess | undefined;
  port = 0;
  readonly log: string;

  constructor(readonly name: string, private readonly env: Record<string, string>, logDir: string, readonly instance = 1) {
    this.log = join(logDir, `${name}-${instance}.log`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const out = createWriteStream(this.log, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', '@hashcheck/telemetry/register', join(root, 'services', this.name, 'src', 'main.ts')], {
      cwd: root,
      // No telemetry export unless the caller's env asks for it (the Zipkin trace test does).
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...this.env, PORT: String(this.port), HOST: '127.0.0.1', OTEL_SERVICE_NAME: `hashcheck-${this.name}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.child = child;
  }

  async ready(timeoutMs = 120_000): Promise<void> {
    await waitFor(async () => {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) throw new Error(`${this.name} exited with ${this.child.exitCode}; see ${this.log}`);
      return (await this.readiness()) === 200;
    }, { timeoutMs, intervalMs: 250, what: `${this.name}-${this.instance} ready (log ${this.log})` });
  }

  async readiness(): Promise<number> {
    try {
      return (await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(3000) })).status;
    } catch {
      return 0;
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      // A clean shutdown that hangs is itself a finding, but must not hang the test.
      const force = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', () => {
        if (force) clearTimeout(force);
        done();
      });
      child.kill(signal);
    });
  }
}

/** Where the services run: our own stack, or the test run's (KAFKA_BROKERS / MONGODB_URI). */
export type Target = Pick<Stack, 'kafkaBrokers' | 'mongoUri' | 'logDir'>;

export interface Setup {
  stack: Target;
  prefix: string;
  dbBase: string;
  logDir: string;
  mongo: MongoClient;
  recorder: TopicRecorder;
  services: Map<string, ServiceProcess>;
  env(service: string): Record<string, string>;
}

export async function setup(t: TestContext, stack: Target, names: string[]): Promise<Setup> {
  const prefix = `${randomName('faults')}.`;
  const dbBase = randomName('flt').replace(/-/g, '_');
  const logDir = join(stack.logDir, 'faults', prefix.slice(0, -1));
  mkdirSync(logDir, { recursive: true });
  const env = (service: string): Record<string, string> => ({
    KAFKA_BROKERS: stack.kafkaBrokers,
    MONGODB_URI: stack.mongoUri,
    MONGODB_DATABASE: `${dbBase}_${service.replace(/-/g, '_')}`,
    KAFKA_TOPIC_PREFIX: prefix,
    OUTBOX_POLL_MS: '200',
    LOG_LEVEL: 'warn',
    INTAKE_API_KEYS: `hotline:hotline:${sha256(HOTLINE_KEY)}`,
    NOTIFICATION_API_KEYS: '',
    ADMIN_API_KEY: 'faults-admin-key-0123456789abcdef0123456789',
    RETENTION_INTERVAL_MS: '0',
    HASH_LIST_SECRET: `k1:${'ab'.repeat(24)}`,
  });
  const services = new Map<string, ServiceProcess>();
  for (const name of names) services.set(name, new ServiceProcess(name, env(name), logDir));
  t.after(async () => {
    await Promise.allSettled([...services.values()].map((s) => s.kill('SIGTERM')));
  });
  await Promise.all([...services.values()].map((s) => s.start()));
  await Promise.all([...services.values()].map((s) => s.ready()));
  const mongo = new MongoClient(stack.mongoUri, { retryWrites: false, serverSelectionTimeoutMS: 5000 });
  await mongo.connect();
  t.after(() => mongo.close());
  const recorder = await new TopicRecorder(stack.kafkaBrokers).start([prefix + Topics.reportsAccepted, prefix + Topics.reportsRejected, prefix + Topics.deadLetter]);
  t.after(() => recorder.stop());
  return { stack, prefix, dbBase, logDir, mongo, recorder, services, env };
}

/**
 * A partner publishing `total` reports at `perSecond`, one in `invalidEvery` schema-invalid (it must
 * come out as a rejection). Each send is retried until the broker acknowledges it: a report counts as
 * "accepted by the system" only once acknowledged, and every one of them must be accounted for.
 */
export class Partner {
  readonly acked = new Set<string>();
  readonly invalid = new Set<string>();
  sendErrors = 0;
  #stopped = false;
  #producer: Producer;
  #kafka: Kafka;

  constructor(brokers: string, private readonly topic: string) {
    this.#kafka = new Kafka({ clientId: randomName('partner'), brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 } });
    this.#producer = this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  async run(total: number, perSecond: number, invalidEvery = 10): Promise<void> {
    await this.#connect();
    const t0 = Date.now();
    for (let i = 0; i < total && !this.#stopped; i++) {
      const due = t0 + (i * 1000) / perSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      const reportId = `flt:${i}`;
      const bad = i % invalidEvery === invalidEvery - 1;
      const data = bad
        ? { reportId, source: 'partner-f', url: 'not a url', hashes: { md5: 'x' } }
        : { reportId, source: 'partner-f', url: `https://files${i % 7}.example/r/${i}.jpg`, hashes: { sha256: sha256(`content-${i}`) } };
      const event = { id: randomUUID(), type: 'reports.submitted', version: 1, occurredAt: new Date().toISOString(), source: 'partner-f', subject: reportId, data };
      for (;;) {
        try {
          await this.#producer.send({ topic: this.topic, acks: -1, messages: [{ key: reportId, value: JSON.stringify(event) }] });
          break;
        } catch {
          this.sendErrors++;
          await sleep(500);
          await this.#connect().catch(() => undefined);
        }
      }
      this.acked.add(reportId);
      if (bad) this.invalid.add(reportId);
    }
  }

  /** Ends the stream early (after the report being sent): the reports acknowledged so far are the N. */
  stop(): void {
    this.#stopped = true;
  }

  async #connect(): Promise<void> {
    await this.#producer.connect();
  }

  async close(): Promise<void> {
    await this.#producer.disconnect().catch(() => undefined);
  }
}

export interface Accounting {
  acked: number;
  storedReports: number;
  storedRejections: number;
  acceptedOnTopic: number;
  acceptedMessages: number;
  rejectedOnTopic: number;
  rejectedMessages: number;
  missing: string[];
  wronglyAccepted: string[];
  wronglyRejected: string[];
}

/** N in, N out: every acknowledged report is a stored report or a rejection, in the database and on the topics. */
export async function account(s: Setup, partner: Partner): Promise<Accounting> {
  const db = s.mongo.db(`${s.dbBase}_intake`);
  const reports = new Set((await db.collection('reports').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
  const rejections = new Set((await db.collection('rejections').find({}, { projection: { reportId: 1 } }).toArray()).map((d) => String(d.reportId)));
  const accepted = s.recorder.on(s.prefix + Topics.reportsAccepted).map((m) => m.json<{ data: { reportId: string } }>().data.reportId);
  const rejected = s.recorder.on(s.prefix + Topics.reportsRejected).map((m) => m.json<{ data: { reportId?: string } }>().data.reportId ?? '');
  const acceptedSet = new Set(accepted);
  const rejectedSet = new Set(rejected);
  const missing: string[] = [];
  const wronglyAccepted: string[] = [];
  const wronglyRejected: string[] = [];
  for (const id of partner.acked) {
    const bad = partner.invalid.has(id);
    if (bad ? !(rejections.has(id) && rejectedSet.has(id)) : !(reports.has(id) && acceptedSet.has(id))) missing.push(id);
    if (bad && (reports.has(id) || acceptedSet.has(id))) wronglyAccepted.push(id);
    if (!bad && (rejections.has(id) || rejectedSet.has(id))) wronglyRejected.push(id);
  }
  return {
    acked: partner.acked.size,
    storedReports: reports.size,
    storedRejections: rejections.size,
    acceptedOnTopic: acceptedSet.size,
    acceptedMessages: accepted.length,
    rejectedOnTopic: rejectedSet.size,
    rejectedMessages: rejected.length,
    missing,
    wronglyAccepted,
    wronglyRejected,
  };
}

/** Waits until the accounting is complete (or the time is up) and returns the last count. */
export async function settle(s: Setup, partner: Partner, timeoutMs: number): Promise<Accounting> {
  let last = await account(s, partner);
  const deadline = Date.now() + timeoutMs;
  while (last.missing.length > 0 && Date.now() < deadline) {
    await sleep(1000);
    last = await account(s, partner);
  }
  return last;
}

export function describe(a: Accounting): string {
  return `acked ${a.acked}; stored rejections ${a.storedRejections}; stored reports ${a.storedReports}; reports.accepted: ${a.acceptedOnTopic} distinct / ${a.acceptedMessages} messages; reports.rejected: ${a.rejectedOnTopic} distinct / ${a.rejectedMessages} messages; missing ${a.missing.length}; wrongly accepted ${a.wronglyAccepted.length}; wrongly rejected ${a.wronglyRejected.length}`;
}

/** Waits until intake has accounted for the stream, prints the counts and asserts N in, N out (intake-level scenarios). */
export async function checkIntake(t: TestContext, s: Setup, partner: Partner, n: number, settleMs: number, label: string): Promise<void> {
  const a = await settle(s, partner, settleMs);
  t.diagnostic(`${label}: ${describe(a)}; partner send retries ${partner.sendErrors}`);
  assert.equal(a.acked, n, 'the partner did not get every report acknowledged');
  assert.deepEqual(a.missing.slice(0, 20), [], `${a.missing.length} acknowledged reports not accounted for`);
  assert.deepEqual(a.wronglyAccepted, []);
  assert.deepEqual(a.wronglyRejected, []);
  assert.equal(a.storedReports + a.storedRejections, n, 'N in, N out (stored reports + rejections)');
  assert.equal(a.acceptedOnTopic + a.rejectedOnTopic, n, 'N in, N out (distinct ids on reports.accepted + reports.rejected)');
}

/** Samples a service's readiness every 250 ms until stopped: did it say not-ready, and when was it ready again. */
export function watchReadiness(svc: ServiceProcess): { stop: () => { sawNotReady: boolean; samples: number } } {
  let sawNotReady = false;
  let samples = 0;
  let running = true;
  void (async () => {
    while (running) {
      const status = await svc.readiness();
      samples++;
      if (status === 503) sawNotReady = true;
      await sleep(250);
    }
  })();
  return { stop: () => { running = false; return { sawNotReady, samples }; } };
}
