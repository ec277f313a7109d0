/**
 * Scale, tested: two instances of a service in the same consumer group share the partitions, and
 * when one goes away under load (closed, or SIGKILLed as a separate process) the other takes its
 * partitions over and nothing is lost: every report published arrives downstream, once per
 * report (at-least-once delivery may repeat the same event id, never a second acceptance).
 *
 * Repeated event ids are reported, not failed: with two instances both outbox relays may publish
 * the same pending entry (the relay takes no claim on a document), which the consumers' idempotency
 * by event id absorbs.
 *
 * intake is the service whose consumers exist at the time of writing; hash-check, notification
 * and enforcement get the same test when their consumers are built (see docs/operations.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { Topics, type EventEnvelope, type ReportsAcceptedData } from '@hashcheck/events';
import { groupId } from '@hashcheck/runtime';
import { infra, randomName, TopicRecorder, waitFor, type Infra } from '@hashcheck/testing';
import { baseEnv, bootIntake, isolation, Partner, PROVIDER_SECRET_KEY, submitted, waitCaughtUp, type Isolation } from '../e2e/pipeline-harness';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const N = 240;
const BATCH = 20;
const MD5 = '9e107d9d372bb6826bd81d3542a419d6';

function report(i: number, run: string) {
  // Distinct URL and content per report: each is a new case, none is a duplicate of another.
  const md5 = (BigInt(`0x${MD5}`) + BigInt(i + 1)).toString(16).padStart(32, '0');
  return submitted({ reportId: `${run}:${i}`, source: 'scale-partner', url: `https://host-${i % 7}.scale.example/${run}/${i}.jpg`, hashes: { md5 } });
}

/** The members of a consumer group and how many partitions of `topic` each holds. */
async function assignment(kafka: Kafka, group: string, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    const members = groups[0]?.members ?? [];
    return members.map((m) => {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      return a?.assignment[topic]?.length ?? 0;
    });
  } finally {
    await admin.disconnect();
  }
}

/** How many partitions of `topic` the group has committed an offset on. */
async function committedPartitions(kafka: Kafka, group: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (t?.partitions ?? []).filter((p) => BigInt(p.offset) > 0n).length;
  } finally {
    await admin.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** intake as its own process (what a container runs), so it can be SIGKILLed like a crashed pod. */
async function spawnIntake(env: Infra, iso: Isolation): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const port = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/intake/src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...baseEnv(env, iso, 'intake'), PROVIDER_SECRET_KEY, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-4000); });
  child.stderr?.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-4000); });
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`intake process exited ${child.exitCode}: ${out}`);
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
    return res?.ok;
  }, { timeoutMs: 90_000, intervalMs: 250, what: 'the intake process to be ready' });
  return { child, port, output: () => out };
}

interface Outcome {
  acceptedReports: number;
  duplicateMessages: number;
  secondAcceptances: string[];
  missing: string[];
  stored: number;
}

async function outcome(recorder: TopicRecorder, topic: string, run: string, db: ReturnType<MongoClient['db']>): Promise<Outcome> {
  const eventsByReport = new Map<string, Set<string>>();
  let messages = 0;
  for (const m of recorder.on(topic)) {
    const e = m.json<EventEnvelope<ReportsAcceptedData>>();
    if (!e.data.reportId.startsWith(`${run}:`)) continue;
    messages += 1;
    const ids = eventsByReport.get(e.data.reportId) ?? new Set<string>();
    ids.add(e.id);
    eventsByReport.set(e.data.reportId, ids);
  }
  const missing: string[] = [];
  for (let i = 0; i < N; i++) if (!eventsByReport.has(`${run}:${i}`)) missing.push(`${run}:${i}`);
  return {
    acceptedReports: eventsByReport.size,
    duplicateMessages: messages - eventsByReport.size,
    secondAcceptances: [...eventsByReport].filter(([, ids]) => ids.size > 1).map(([r]) => r),
    missing,
    stored: await db.collection('reports').countDocuments({ _id: { $regex: `^${run}:` } as never }),
  };
}

for (const mode of ['closed', 'killed'] as const) {
  test(`intake x2, one ${mode} under load: the partitions move to the other instance and nothing is lost`, { timeout: 300_000 }, async (t) => {
    const env = infra(t);
    if (!env) return;
    const iso = isolation();
    const run = randomName(mode);
    const topic = (base: string) => iso.prefix + base;

    // Instance B: in this process. Instance A: in this process (closed) or its own (killed).
    const b = await bootIntake(env, iso);
    t.after(() => b.app.close());
    let closeA: () => Promise<void>;
    let aProcess: Awaited<ReturnType<typeof spawnIntake>> | undefined;
    if (mode === 'closed') {
      const a = await bootIntake(env, iso);
      closeA = () => a.app.close();
      t.after(() => a.app.close());
    } else {
      aProcess = await spawnIntake(env, iso);
      const child = aProcess.child;
      closeA = async () => {
        child.kill('SIGKILL');
        await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
      };
      t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    }

    const mongo = new MongoClient(env.mongoUri);
    await mongo.connect();
    const db = mongo.db(b.config.MONGODB_DATABASE);
    t.after(async () => { await db.dropDatabase().catch(() => undefined); await mongo.close(); });
    const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.reportsAccepted)]);
    t.after(() => recorder.stop());
    const partner = new Partner(env.brokers, topic(Topics.reportsSubmitted));
    t.after(() => partner.close());
    const kafka = new Kafka({ clientId: randomName('scale-admin'), brokers: env.brokers.split(','), logLevel: logLevel.NOTHING });
    const group = groupId(b.config, 'intake', 'submitted');
    const submittedTopic = topic(Topics.reportsSubmitted);

    // Both instances are in the group and each holds some of the partitions.
    const shared = await waitFor(async () => {
      const a = await assignment(kafka, group, submittedTopic);
      return a.length === 2 && a.every((n) => n > 0) ? a : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300, what: 'two members sharing the partitions' });
    assert.equal(shared.reduce((s, n) => s + n, 0), 6, 'all six partitions assigned, split between the two');

    // Load: batches keep arriving; instance A goes away after a third of them.
    const started = Date.now();
    for (let i = 0; i < N; i += BATCH) {
      if (i === BATCH * Math.floor(N / BATCH / 3)) {
        // A must have done part of the work before it goes, or the test proves nothing: the group
        // has committed on every partition, and A held half of them (asserted above) since before
        // the first report.
        await waitFor(async () => (await committedPartitions(kafka, group, submittedTopic)) === 6, { timeoutMs: 60_000, intervalMs: 200, what: 'commits on all six partitions' });
        await closeA();
        t.diagnostic(`instance A ${mode} after ${i} reports were published`);
      }
      await partner.publish(Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => report(i + k, run)));
      await new Promise((r) => setTimeout(r, 50));
    }

    // B alone holds every partition now, and catches up to the end of the topic.
    await waitFor(async () => {
      const a = await assignment(kafka, group, submittedTopic);
      return a.length === 1 && a[0] === 6;
    }, { timeoutMs: 90_000, intervalMs: 500, what: 'the remaining instance to own all six partitions' });
    await waitCaughtUp(kafka, group, submittedTopic, 120_000);
    await waitFor(async () => (await outcome(recorder, topic(Topics.reportsAccepted), run, db)).missing.length === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'every report accepted downstream',
    }).catch(() => undefined);
    const o = await outcome(recorder, topic(Topics.reportsAccepted), run, db);
    t.diagnostic(`${N} reports in ${Date.now() - started} ms; ${o.duplicateMessages} redelivered messages (same event id)`);

    assert.deepEqual(o.missing, [], 'no report is lost');
    assert.equal(o.acceptedReports, N);
    assert.deepEqual(o.secondAcceptances, [], 'no report is accepted twice as different events');
    assert.equal(o.stored, N, 'each report is stored once');
  });
}
