/**
 * Scale, tested, for enforcement: two instances in one consumer group share the partitions of
 * reports.matched and notices.sent and fire the legal clock's timers from the same database.
 *
 * Phase 1, both running: cases open on both, their deadline passes, and both instances fire
 * timers (each claim names its instance). Phase 2, under load: instance A goes away (closed in
 * this process, or SIGKILLed as its own process) and B takes every partition, opens the rest of
 * the cases and fires their timers. In the end every report is exactly one case with one notice,
 * and every case missed its deadline once: one `deadline.missed` and one `escalation.issued` in
 * its evidence, one step, one escalation event (a relay repeat keeps its event id).
 *
 * Legal time: with A in this process both share a ManualClock, so the deadlines pass when the test
 * says; a separate process cannot share it, so the SIGKILL variant uses deadlines a few real
 * seconds after the notice.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { buildApp, EnforcementConfigSchema, ManualClock, systemClock, type Clock } from '@hashcheck/enforcement';
import { createEvent, NoticesSent, Topics, type EventEnvelope } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { groupId } from '@hashcheck/runtime';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { baseEnv, isolation, waitCaughtUp } from '../e2e/pipeline-harness';
// One builder of reports.matched events for enforcement's tests and this scenario.
import { matched, type Item } from '@hashcheck/enforcement/test/helpers';
import { adminKafka, assignment, committedPartitions, scaleEnabled, sleep, spawnService, waitShared } from './scale-harness';

const H = 3_600_000;
const DAY = 24 * H;
const PHASE1 = 24;
const PHASE2 = 36;
const PER_NOTICE = 6;
const BATCH = 6;
const PARTITIONS = 6;
const PROVIDERS = Array.from({ length: 8 }, (_, i) => `scale-enf-${i}`);

function item(run: string, i: number): Item {
  const sha256 = createHash('sha256').update(`${run}:content:${i}`).digest('hex');
  const providerId = PROVIDERS[Math.floor(i / PER_NOTICE) % PROVIDERS.length] ?? 'x';
  const caseKey = createHash('sha256').update(`${run}:case:${i}`).digest('hex');
  return { reportId: `${run}:${i}`, caseKey, caseId: `${caseKey}.1`, url: `https://files.${providerId}.example/${run}/${i}.jpg`, sha256, providerId };
}

function noticeSent(items: Item[], sentAt: Date, deadlineAt: Date): EventEnvelope {
  const providerId = items[0]?.providerId ?? 'x';
  const noticeId = `n-${items[0]?.reportId ?? 'x'}`;
  return createEvent(NoticesSent, {
    source: 'notification',
    subject: providerId,
    data: {
      noticeId, providerId, contact: `abuse@${providerId}.example`, channel: 'email',
      items: items.map((it) => ({ reportId: it.reportId, caseKey: it.caseKey, caseId: it.caseId, url: it.url, deadlineAt: deadlineAt.toISOString() })),
      sentAt: sentAt.toISOString(),
      deliveryProof: { channel: 'email', status: 'accepted', payloadSha256: createHash('sha256').update(noticeId).digest('hex'), messageId: `<${noticeId}@hashcheck.test>`, responseCode: 250 },
    },
  });
}

/** Matched reports, then their notices (PER_NOTICE items each), for items [from, to). */
function events(items: Item[], at: Date, deadlineAt: Date): { matched: EventEnvelope[]; notices: EventEnvelope[] } {
  const notices: EventEnvelope[] = [];
  for (let i = 0; i < items.length; i += PER_NOTICE) notices.push(noticeSent(items.slice(i, i + PER_NOTICE), at, deadlineAt));
  return { matched: items.map((it) => matched(it, at)), notices };
}

export async function enforcementScenario(t: TestContext, mode: 'closed' | 'killed'): Promise<void> {
  if (!scaleEnabled(t)) return;
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const run = randomName(`enf-${mode}`);
  const topic = (base: string) => iso.prefix + base;
  const vars: Record<string, string> = {
    ...baseEnv(env, iso, 'enforcement'),
    ADMIN_API_KEY: randomBytes(24).toString('hex'),
    // Small batches and short claims: both instances take turns at the due timers, and a claim
    // of a SIGKILLed instance runs out quickly.
    TIMER_POLL_MS: '50',
    TIMER_BATCH: '4',
    // The relay scans case_log on FerretDB: two instances polling every 100 ms slow everything.
    OUTBOX_POLL_MS: '500',
    TIMER_LEASE_MS: '1500',
    RETENTION_INTERVAL_MS: '0',
  };
  const manual = mode === 'closed' ? new ManualClock(Date.UTC(2025, 2, 3, 9)) : undefined;
  const clock: Clock = manual ?? systemClock;
  const boot = async (instance: string): Promise<App> => {
    const app = await buildApp(loadConfig(EnforcementConfigSchema, { ...vars, INSTANCE_ID: instance }), { logger: pino({ level: 'silent' }), clock });
    await app.ready();
    return app;
  };

  const b = await boot('b');
  let bClosed = false;
  t.after(async () => { if (!bClosed) { bClosed = true; await b.close(); } });
  let stopA: () => Promise<void>;
  let a: App | undefined;
  if (mode === 'closed') {
    const app = await boot('a');
    a = app;
    let closed = false;
    stopA = async () => { if (!closed) { closed = true; await app.close(); } };
    t.after(stopA);
  } else {
    const p = await spawnService('enforcement', { ...vars, INSTANCE_ID: 'a' });
    stopA = p.kill;
    t.after(p.kill);
  }

  const mongo = new MongoClient(env.mongoUri);
  await mongo.connect();
  const db = mongo.db(vars.MONGODB_DATABASE ?? '');
  t.after(async () => { await db.dropDatabase().catch(() => undefined); await mongo.close(); });
  const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.enforcementEscalated)]);
  t.after(() => recorder.stop());
  const kafka = adminKafka(env.brokers);
  const group = groupId({ KAFKA_TOPIC_PREFIX: iso.prefix }, 'enforcement', 'cases');
  const matchedTopic = topic(Topics.reportsMatched);
  const noticesTopic = topic(Topics.noticesSent);
  t.diagnostic(`partitions per member: reports.matched ${(await waitShared(kafka, group, matchedTopic, PARTITIONS)).join('/')}, notices.sent ${(await waitShared(kafka, group, noticesTopic, PARTITIONS)).join('/')}`);

  const items = Array.from({ length: PHASE1 + PHASE2 }, (_, i) => item(run, i));
  const phase1 = items.slice(0, PHASE1);
  const phase2 = items.slice(PHASE1);
  const publish = async (batch: Item[], deadlineAt: Date): Promise<void> => {
    const e = events(batch, clock.now(), deadlineAt);
    await b.kafka.producer.publish(Topics.reportsMatched, e.matched);
    await b.kafka.producer.publish(Topics.noticesSent, e.notices);
  };
  const caseOf = (it: Item) => b.enforcement.cases.get(it.caseId);
  const waitCases = async (batch: Item[], pred: (c: NonNullable<Awaited<ReturnType<typeof caseOf>>>) => boolean, what: string): Promise<void> => {
    // One query of the view per poll (FerretDB scans per query; one per case would add up).
    await waitFor(async () => {
      const byId = new Map((await b.enforcement.cases.find({}, 10_000)).map((c) => [c.id, c]));
      const c = batch.map((it) => byId.get(it.caseId));
      return c.every((x) => x !== undefined && pred(x));
    }, { timeoutMs: 120_000, intervalMs: 500, what });
  };
  const open = (c: { status: string; notices: unknown[] }) => c.status === 'open' && c.notices.length === 1;
  const claimsBy = async (caseIds: string[]): Promise<Map<string, number>> => {
    const owners = new Map<string, number>();
    const wanted = new Set(caseIds);
    for (const c of await db.collection<{ caseId: string; owner: string }>('timer_claims').find({}).toArray()) {
      if (wanted.has(c.caseId)) owners.set(c.owner, (owners.get(c.owner) ?? 0) + 1);
    }
    return owners;
  };

  // Phase 1: both instances open cases and fire timers.
  const started = Date.now();
  const deadline1 = new Date(clock.now().getTime() + (manual ? DAY : 8_000));
  for (let i = 0; i < phase1.length; i += BATCH) await publish(phase1.slice(i, i + BATCH), deadline1);
  await waitCases(phase1, open, 'the phase 1 cases open');
  t.diagnostic(`phase 1: ${PHASE1} cases open after ${Date.now() - started} ms`);
  manual?.advance(DAY + 1000);
  await waitCases(phase1, (c) => c.stepIndex >= 0, 'the phase 1 deadlines to fire');
  const owners1 = await claimsBy(phase1.map((it) => it.caseId));
  t.diagnostic(`phase 1: ${PHASE1} cases fired after ${Date.now() - started} ms; timer claims by instance: ${JSON.stringify(Object.fromEntries(owners1))}`);
  assert.ok((owners1.get('a') ?? 0) > 0 && (owners1.get('b') ?? 0) > 0, 'both instances fired timers');

  // Phase 2: under load, A goes away after a third of the batches.
  const deadline2 = new Date(clock.now().getTime() + (manual ? H : 10_000));
  for (let i = 0; i < phase2.length; i += BATCH) {
    if (i === BATCH * Math.floor(phase2.length / BATCH / 3)) {
      await waitFor(async () => (await committedPartitions(kafka, group, matchedTopic)) === PARTITIONS, { timeoutMs: 60_000, intervalMs: 200, what: 'commits on every partition' });
      await stopA();
      t.diagnostic(`instance A ${mode} after ${i} phase 2 reports were published`);
    }
    await publish(phase2.slice(i, i + BATCH), deadline2);
    await sleep(50);
  }
  for (const tp of [matchedTopic, noticesTopic]) {
    await waitFor(async () => {
      const x = await assignment(kafka, group, tp);
      return x.length === 1 && x[0] === PARTITIONS;
    }, { timeoutMs: 90_000, intervalMs: 500, what: `the remaining instance to own every partition of ${tp}` });
  }
  await waitCaughtUp(kafka, group, matchedTopic, 120_000);
  await waitCaughtUp(kafka, group, noticesTopic, 120_000);
  await waitCases(phase2, open, 'the phase 2 cases open');
  manual?.advance(H + 1000);
  await waitCases(phase2, (c) => c.stepIndex >= 0, 'the phase 2 deadlines to fire');
  // A duplicate firing, if there were one, would come within a lease and a few polls.
  await sleep(3000);
  const owners2 = await claimsBy(phase2.map((it) => it.caseId));
  t.diagnostic(`phase 2: ${PHASE2} cases fired after ${Date.now() - started} ms; timer claims by instance: ${JSON.stringify(Object.fromEntries(owners2))}`);

  // Every report is one case with one notice, and each case missed its deadline exactly once.
  const wrong: string[] = [];
  for (const it of items) {
    const c = await caseOf(it);
    const kinds = ((await b.enforcement.cases.evidence(it.caseId))?.entries ?? []).map((e) => e.kind);
    const count = (k: string) => kinds.filter((x) => x === k).length;
    const ok = c && c.reportIds.length === 1 && c.reportIds[0] === it.reportId && c.notices.length === 1 && c.stepIndex === 0
      && c.steps.length === 1 && count('deadline.missed') === 1 && count('escalation.issued') === 1;
    if (!ok) wrong.push(`${it.reportId}: reports ${c?.reportIds.length}, notices ${c?.notices.length}, steps ${c?.steps.map((s) => s.index).join(',')}, evidence ${kinds.join(',')}`);
  }
  assert.deepEqual(wrong, [], 'one case per report, one notice, one missed deadline, one escalation');
  const caseIds = new Set(items.map((it) => it.caseId));
  const cases = await db.collection('cases').find({}, { projection: { _id: 1 } }).toArray();
  assert.deepEqual(cases.map((c) => String(c._id)).filter((id) => !caseIds.has(id)), [], 'no other case was opened');
  assert.equal(cases.length, items.length);
  if (a) {
    const sa = a.enforcement.service.timerStats;
    const sb = b.enforcement.service.timerStats;
    t.diagnostic(`timers fired: A ${sa.fired} (claimed ${sa.claimed}), B ${sb.fired} (claimed ${sb.claimed})`);
    assert.equal(sa.fired + sb.fired, items.length, 'every timer fired exactly once across both instances');
  }
  await waitFor(() => new Set(recorder.on(topic(Topics.enforcementEscalated)).map((m) => m.json<{ id: string }>().id)).size >= items.length, { timeoutMs: 60_000, what: 'every escalation published' });
  const escalated = recorder.on(topic(Topics.enforcementEscalated)).map((m) => m.json<{ id: string; data: { caseId: string } }>());
  assert.equal(new Set(escalated.map((e) => e.id)).size, items.length, 'one escalation event per case (repeats keep their id)');
  assert.deepEqual(new Set(escalated.map((e) => e.data.caseId)), caseIds);
}
