/**
 * Scale, tested: the hash index stays consistent across two hash-check instances when lists change,
 * on the report path as well as on the check API.
 *
 * services/hash-check/test/sync.test.ts shows that a change made on one instance is answered by the
 * other's check API within seconds. Here two instances share the partitions of reports.accepted and
 * the test asks what they DECIDE: after each change (an addition on A, a retraction on B, the list
 * disabled on A, enabled again on B) a round of accepted reports goes to every partition (explicit
 * partitions, so both instances decide part of every round) and every decision must follow the
 * change. The two instances' view of the lists (revision, status, entries per type) must be equal
 * after each change, and equal to that of a third instance that loads the lists from storage at the
 * end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { createEvent, ReportsAccepted, Topics, type ReportsAcceptedData } from '@hashcheck/events';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp, HashCheckConfigSchema } from '@hashcheck/hash-check';
import type { App } from '@hashcheck/http';
import { groupId } from '@hashcheck/runtime';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { baseEnv, isolation } from '../e2e/pipeline-harness';
import { adminKafka, scaleEnabled, waitShared } from './scale-harness';

const ADMIN = 'scale-lists-admin-key-0123456789abcdef';
const PARTITIONS = 6;
const PER_ROUND = 12;

type ListsView = ReturnType<App['hashCheck']['engine']['state']>['lists'];

function view(app: App): ListsView {
  return [...app.hashCheck.engine.state().lists].sort((x, y) => x.id.localeCompare(y.id));
}

function acceptedData(reportId: string, sha1: string): ReportsAcceptedData {
  return {
    reportId, source: 'scale', channel: 'kafka', url: `https://files.scale.example/${reportId}.jpg`, host: 'files.scale.example',
    providerId: 'scale-hosting', providerResolved: true, hashes: { sha1 }, receivedAt: new Date().toISOString(),
    caseKey: randomBytes(32).toString('hex'), caseId: `${randomBytes(32).toString('hex')}.1`,
  };
}

test('hash-check x2: every decision on the report path follows list additions, retractions and a disabled list, on both instances', { timeout: 240_000 }, async (t) => {
  if (!scaleEnabled(t)) return;
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const run = randomName('lists');
  const topic = (base: string) => iso.prefix + base;
  const vars = {
    ...baseEnv(env, iso, 'hash-check'),
    HASH_LIST_SECRET: `k1:${'l'.repeat(40)}`,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin:${sha256Hex(ADMIN)}`,
    AUTH_CACHE_MS: '0',
  };
  const admin = { authorization: `Bearer ${ADMIN}` };
  const started: App[] = [];
  t.after(async () => { for (const app of started) await app.close(); });
  const boot = async (): Promise<App> => {
    const app = await buildApp(loadConfig(HashCheckConfigSchema, vars), { logger: pino({ level: 'silent' }) });
    started.push(app);
    await app.ready();
    return app;
  };

  const a = await boot();
  const listed = Array.from({ length: 20 }, () => randomBytes(20).toString('hex'));
  const later = Array.from({ length: 4 }, () => randomBytes(20).toString('hex'));
  assert.equal((await a.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'scale', name: 'Scale', source: 'hotline', category: 'csam', owner: 'Hotline' } })).statusCode, 201);
  const seeded = await a.inject({ method: 'POST', url: '/v1/lists/scale/changes', headers: admin, payload: { add: listed.map((hash) => ({ type: 'sha1', hash })) } });
  assert.equal(seeded.statusCode, 200, seeded.body);
  const b = await boot();

  const kafka = adminKafka(env.brokers);
  const group = groupId({ KAFKA_TOPIC_PREFIX: iso.prefix }, 'hash-check', 'reports');
  const acceptedTopic = topic(Topics.reportsAccepted);
  t.diagnostic(`reports.accepted partitions per member: ${(await waitShared(kafka, group, acceptedTopic, PARTITIONS)).join('/')}`);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  const recorder = await new TopicRecorder(env.brokers).start([topic(Topics.reportsMatched), topic(Topics.reportsUnmatched)]);
  t.after(() => recorder.stop());

  const ask = async (app: App, hash: string): Promise<boolean> =>
    (await app.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'sha1', hash }] } })).json().results[0].match as boolean;
  /** Both instances answer `expected` for every hash and hold the same lists. */
  const converged = async (hashes: string[], expected: boolean, what: string): Promise<void> => {
    await waitFor(async () => {
      for (const app of [a, b]) for (const h of hashes) if ((await ask(app, h)) !== expected) return false;
      return JSON.stringify(view(a)) === JSON.stringify(view(b));
    }, { timeoutMs: 30_000, intervalMs: 250, what });
  };
  /**
   * One round of accepted reports, PER_ROUND of them over every partition (so both instances decide
   * some), each carrying one of `hashes`; every decision must be `expected`.
   */
  let round = 0;
  const decide = async (hashes: string[], expected: 'matched' | 'unmatched', label: string): Promise<void> => {
    round += 1;
    const ids = Array.from({ length: PER_ROUND }, (_, i) => `${run}:${round}:${i}`);
    await producer.send({
      topic: acceptedTopic,
      acks: -1,
      messages: ids.map((id, i) => ({
        partition: i % PARTITIONS,
        key: id,
        value: JSON.stringify(createEvent(ReportsAccepted, { subject: id, source: 'intake', data: acceptedData(id, hashes[i % hashes.length] ?? '') })),
      })),
    });
    const decisions = () => {
      const out = new Map<string, string[]>();
      for (const [kind, base] of [['matched', Topics.reportsMatched], ['unmatched', Topics.reportsUnmatched]] as const) {
        for (const m of recorder.on(topic(base))) {
          const e = m.json<{ subject: string }>();
          if (ids.includes(e.subject)) out.set(e.subject, [...(out.get(e.subject) ?? []), kind]);
        }
      }
      return out;
    };
    await waitFor(() => decisions().size === PER_ROUND, { timeoutMs: 60_000, intervalMs: 250, what: `a decision for every report of round ${round} (${label})` });
    const wrong = [...decisions()].filter(([, kinds]) => !kinds.every((k) => k === expected)).map(([id, kinds]) => `${id}: ${kinds.join(',')}`);
    assert.deepEqual(wrong, [], `${label}: every report ${expected}`);
    // The round went to every partition while both instances held three each.
    assert.equal((await waitShared(kafka, group, acceptedTopic, PARTITIONS)).length, 2);
  };

  await converged([listed[0] ?? '', listed[19] ?? ''], true, 'B to hold the list it loaded at start');
  await decide(listed, 'matched', 'listed hashes');
  await decide(later, 'unmatched', 'hashes not listed yet');

  assert.equal((await a.inject({ method: 'POST', url: '/v1/lists/scale/changes', headers: admin, payload: { add: later.map((hash) => ({ type: 'sha1', hash })) } })).statusCode, 200);
  await converged(later, true, 'the addition made on A, on both');
  await decide(later, 'matched', 'after the addition on A');

  assert.equal((await b.inject({ method: 'POST', url: '/v1/lists/scale/changes', headers: admin, payload: { retract: later.map((hash) => ({ type: 'sha1', hash })) } })).statusCode, 200);
  await converged(later, false, 'the retraction made on B, on both');
  await decide(later, 'unmatched', 'after the retraction on B');
  await decide(listed, 'matched', 'the rest of the list after the retraction');

  assert.equal((await a.inject({ method: 'PATCH', url: '/v1/lists/scale', headers: admin, payload: { status: 'disabled' } })).statusCode, 200);
  await converged(listed, false, 'the list disabled on A, on both');
  await decide(listed, 'unmatched', 'with the list disabled');

  const enabled = await b.inject({ method: 'PATCH', url: '/v1/lists/scale', headers: admin, payload: { status: 'active' } });
  assert.equal(enabled.statusCode, 200, enabled.body);
  await converged(listed, true, 'the list enabled again on B, on both');
  await converged(later, false, 'the retraction still in force after enabling');
  await decide(listed, 'matched', 'with the list enabled again');
  await decide(later, 'unmatched', 'retracted hashes with the list enabled again');

  // A third instance loads from storage what the other two built up through the change topic.
  const c = await boot();
  await waitFor(() => JSON.stringify(view(c)) === JSON.stringify(view(a)), { timeoutMs: 30_000, what: 'the new instance to hold the same lists' });
  t.diagnostic(`lists on every instance: ${JSON.stringify(view(a))}`);
  assert.equal(await ask(c, listed[3] ?? ''), true);
  assert.equal(await ask(c, later[0] ?? ''), false);
});
