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
 * intake and hash-check (whose index stays consistent across instances: services/hash-check/test/
 * sync.test.ts) are covered; notification and enforcement coordinate through leases in MongoDB
 * and are not in this file yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { buildApp as buildHashCheck, HashCheckConfigSchema, sha256Hex } from '@hashcheck/hash-check';
import { createEvent, ReportsAccepted, Topics, type EventEnvelope, type ReportsAcceptedData } from '@hashcheck/events';
import { groupId } from '@hashcheck/runtime';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
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

/** A service as its own process (what a container runs), so it can be SIGKILLed like a crashed pod. */
async function spawnService(service: string, vars: Record<string, string>): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const port = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', `services/${service}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, ...vars, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-4000); });
  child.stderr?.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-4000); });
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`${service} process exited ${child.exitCode}: ${out}`);
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
    return res?.ok;
  }, { timeoutMs: 90_000, intervalMs: 250, what: `the ${service} process to be ready` });
  return { child, port, output: () => out };
}

function killer(child: ChildProcess): () => Promise<void> {
  return async () => {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  };
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
    if (mode === 'closed') {
      const a = await bootIntake(env, iso);
      closeA = () => a.app.close();
      t.after(() => a.app.close());
    } else {
      const { child } = await spawnService('intake', { ...baseEnv(env, iso, 'intake'), PROVIDER_SECRET_KEY });
      closeA = killer(child);
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

// --- hash-check: two instances matching accepted reports ---------------------------------------

const HC_ADMIN = 'scale-test-admin-key-0123456789abcdef';
const HC_SECRET = `k1:${'s'.repeat(40)}`;

function hashCheckEnv(env: { brokers: string; mongoUri: string }, iso: Isolation): Record<string, string> {
  return {
    ...baseEnv({ brokers: env.brokers, mongoUri: env.mongoUri }, iso, 'hash-check'),
    HASH_LIST_SECRET: HC_SECRET,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin:${sha256Hex(HC_ADMIN)}`,
  };
}

function acceptedData(reportId: string, sha1: string): ReportsAcceptedData {
  return {
    reportId,
    source: 'scale',
    channel: 'kafka',
    url: `https://files.scale.example/${reportId}.jpg`,
    host: 'files.scale.example',
    providerId: 'scale-hosting',
    providerResolved: true,
    hashes: { sha1 },
    receivedAt: new Date().toISOString(),
    caseKey: randomBytes(32).toString('hex'),
    caseId: `${randomBytes(32).toString('hex')}.1`,
  };
}

for (const mode of ['closed', 'killed'] as const) {
  test(`hash-check x2, one ${mode} under load: every accepted report is decided once, matched exactly when listed`, { timeout: 300_000 }, async (t) => {
    const env = infra(t);
    if (!env) return;
    const iso = isolation();
    const run = randomName(`hc-${mode}`);
    const topic = (base: string) => iso.prefix + base;
    const vars = hashCheckEnv(env, iso);
    const admin = { authorization: `Bearer ${HC_ADMIN}` };

    const b = await buildHashCheck(loadConfig(HashCheckConfigSchema, vars), { logger: pino({ level: 'silent' }) });
    t.after(() => b.close());
    await b.ready();
    // A list of 50 SHA-1 hashes, created through B before A starts: A loads it from storage.
    const listed = Array.from({ length: 50 }, () => randomBytes(20).toString('hex'));
    assert.equal((await b.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'scale', name: 'Scale', source: 'hotline', category: 'csam', owner: 'Hotline' } })).statusCode, 201);
    const added = await b.inject({ method: 'POST', url: '/v1/lists/scale/changes', headers: admin, payload: { add: listed.map((hash) => ({ type: 'sha1', hash })) } });
    assert.equal(added.statusCode, 200, added.body);

    let closeA: () => Promise<void>;
    let askA: (hash: string) => Promise<boolean>;
    if (mode === 'closed') {
      const a = await buildHashCheck(loadConfig(HashCheckConfigSchema, vars), { logger: pino({ level: 'silent' }) });
      t.after(() => a.close());
      await a.ready();
      closeA = () => a.close();
      askA = async (hash) => (await a.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'sha1', hash }] } })).json().results[0].match as boolean;
    } else {
      const { child, port } = await spawnService('hash-check', vars);
      closeA = killer(child);
      t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
      askA = async (hash) => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/check`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ type: 'sha1', hash }] }) });
        return ((await res.json()) as { results: Array<{ match: boolean }> }).results[0]?.match ?? false;
      };
    }
    // Both instances hold the same index before the load (A converges within seconds of its start).
    await waitFor(async () => (await askA(listed[0] ?? '')) && (await askA(listed[49] ?? '')), { timeoutMs: 30_000, intervalMs: 250, what: 'instance A to hold the list' });
    assert.equal(await askA(randomBytes(20).toString('hex')), false);

    const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.reportsMatched), topic(Topics.reportsUnmatched)]);
    t.after(() => recorder.stop());
    const kafka = new Kafka({ clientId: randomName('scale-admin'), brokers: env.brokers.split(','), logLevel: logLevel.NOTHING });
    const group = groupId({ KAFKA_TOPIC_PREFIX: iso.prefix }, 'hash-check', 'reports');
    const acceptedTopic = topic(Topics.reportsAccepted);
    const shared = await waitFor(async () => {
      const a = await assignment(kafka, group, acceptedTopic);
      return a.length === 2 && a.every((n) => n > 0) ? a : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300, what: 'two hash-check members sharing the partitions' });
    assert.equal(shared.reduce((x, n) => x + n, 0), 6);

    // Even reports carry a listed hash, odd ones an unlisted one.
    const expectMatch = (i: number) => i % 2 === 0;
    const event = (i: number) => createEvent(ReportsAccepted, { subject: `${run}:${i}`, source: 'intake', data: acceptedData(`${run}:${i}`, expectMatch(i) ? (listed[i % listed.length] ?? '') : randomBytes(20).toString('hex')) });
    for (let i = 0; i < N; i += BATCH) {
      if (i === BATCH * Math.floor(N / BATCH / 3)) {
        await waitFor(async () => (await committedPartitions(kafka, group, acceptedTopic)) === 6, { timeoutMs: 60_000, intervalMs: 200, what: 'commits on all six partitions' });
        await closeA();
        t.diagnostic(`hash-check instance A ${mode} after ${i} reports were published`);
      }
      await b.kafka.producer.publish(Topics.reportsAccepted, Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => event(i + k)));
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(async () => {
      const a = await assignment(kafka, group, acceptedTopic);
      return a.length === 1 && a[0] === 6;
    }, { timeoutMs: 90_000, intervalMs: 500, what: 'the remaining instance to own all six partitions' });
    await waitCaughtUp(kafka, group, acceptedTopic, 120_000);

    const decided = () => {
      const out = new Map<string, { matched: Set<string>; unmatched: Set<string> }>();
      for (const [kind, base] of [['matched', Topics.reportsMatched], ['unmatched', Topics.reportsUnmatched]] as const) {
        for (const m of recorder.on(topic(base))) {
          const e = m.json<{ id: string; subject: string }>();
          if (!e.subject.startsWith(`${run}:`)) continue;
          const d = out.get(e.subject) ?? { matched: new Set<string>(), unmatched: new Set<string>() };
          d[kind].add(e.id);
          out.set(e.subject, d);
        }
      }
      return out;
    };
    await waitFor(() => decided().size === N, { timeoutMs: 60_000, intervalMs: 500, what: 'a decision for every report' }).catch(() => undefined);
    const d = decided();
    const missing = Array.from({ length: N }, (_, i) => `${run}:${i}`).filter((r) => !d.has(r));
    assert.deepEqual(missing, [], 'no accepted report is lost');
    const wrong: string[] = [];
    const twice: string[] = [];
    for (let i = 0; i < N; i++) {
      const x = d.get(`${run}:${i}`);
      if (!x) continue;
      if (x.matched.size + x.unmatched.size !== 1) twice.push(`${run}:${i}`);
      if ((x.matched.size > 0) !== expectMatch(i)) wrong.push(`${run}:${i}`);
    }
    assert.deepEqual(twice, [], 'each report is decided once (one event; redeliveries repeat its id)');
    assert.deepEqual(wrong, [], 'matched exactly when its hash is listed');
  });
}
