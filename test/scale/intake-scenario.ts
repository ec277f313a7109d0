/**
 * Scale, tested, for intake: two instances in one consumer group share the partitions of
 * reports.submitted, and when one goes away under load (closed, or SIGKILLed as a separate process)
 * the other takes its partitions over and nothing is lost: every report published arrives
 * downstream, once per report (at-least-once delivery may repeat the same event id, never a second
 * acceptance).
 *
 * Repeated event ids are reported, not failed: with two instances both outbox relays may publish
 * the same pending entry (the relay takes no claim on a document), which the consumers' idempotency
 * by event id absorbs.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Topics, type EventEnvelope, type ReportsAcceptedData } from '@hashcheck/events';
import { groupId } from '@hashcheck/runtime';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { baseEnv, bootIntake, isolation, Partner, PROVIDER_SECRET_KEY, submitted, waitCaughtUp } from '../e2e/pipeline-harness';
import { adminKafka, assignment, committedPartitions, scaleEnabled, spawnService } from './scale-harness';

const N = 240;
const BATCH = 20;
const MD5 = '9e107d9d372bb6826bd81d3542a419d6';

function report(i: number, run: string) {
  // Distinct URL and content per report: each is a new case, none is a duplicate of another.
  const md5 = (BigInt(`0x${MD5}`) + BigInt(i + 1)).toString(16).padStart(32, '0');
  return submitted({ reportId: `${run}:${i}`, source: 'scale-partner', url: `https://host-${i % 7}.scale.example/${run}/${i}.jpg`, hashes: { md5 } });
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

export async function intakeScenario(t: TestContext, mode: 'closed' | 'killed'): Promise<void> {
  if (!scaleEnabled(t)) return;
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
    const a = await spawnService('intake', { ...baseEnv(env, iso, 'intake'), PROVIDER_SECRET_KEY });
    closeA = a.kill;
    t.after(a.kill);
  }

  const mongo = new MongoClient(env.mongoUri);
  await mongo.connect();
  const db = mongo.db(b.config.MONGODB_DATABASE);
  t.after(async () => { await db.dropDatabase().catch(() => undefined); await mongo.close(); });
  const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.reportsAccepted)]);
  t.after(() => recorder.stop());
  const partner = new Partner(env.brokers, topic(Topics.reportsSubmitted));
  t.after(() => partner.close());
  const kafka = adminKafka(env.brokers);
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
}
