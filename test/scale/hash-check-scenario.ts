/**
 * Scale, tested, for hash-check on the report path: two instances in one consumer group share the
 * partitions of reports.accepted; when one goes away under load (closed, or SIGKILLed as a separate
 * process) every accepted report is still decided once, and matched exactly when its hash is
 * listed. (List changes across instances: hash-check-lists.test.ts.)
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp as buildHashCheck, HashCheckConfigSchema } from '@hashcheck/hash-check';
import { createEvent, ReportsAccepted, Topics, type ReportsAcceptedData } from '@hashcheck/events';
import { groupId } from '@hashcheck/runtime';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { baseEnv, isolation, waitCaughtUp, type Isolation } from '../e2e/pipeline-harness';
import { adminKafka, assignment, committedPartitions, scaleEnabled, spawnService } from './scale-harness';

const N = 240;
const BATCH = 20;

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

export async function hashCheckScenario(t: TestContext, mode: 'closed' | 'killed'): Promise<void> {
  if (!scaleEnabled(t)) return;
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
    const a = await spawnService('hash-check', vars);
    closeA = a.kill;
    t.after(a.kill);
    askA = async (hash) => {
      const res = await fetch(`http://127.0.0.1:${a.port}/v1/check`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ type: 'sha1', hash }] }) });
      return ((await res.json()) as { results: Array<{ match: boolean }> }).results[0]?.match ?? false;
    };
  }
  // Both instances hold the same index before the load (A converges within seconds of its start).
  await waitFor(async () => (await askA(listed[0] ?? '')) && (await askA(listed[49] ?? '')), { timeoutMs: 30_000, intervalMs: 250, what: 'instance A to hold the list' });
  assert.equal(await askA(randomBytes(20).toString('hex')), false);

  const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.reportsMatched), topic(Topics.reportsUnmatched)]);
  t.after(() => recorder.stop());
  const kafka = adminKafka(env.brokers);
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
}
