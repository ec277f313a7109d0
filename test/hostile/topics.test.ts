/**
 * Poison messages in every input topic. With the four services running, each consumer group that
 * reads a topic must put every poison message somewhere with its reason: intake answers bad partner
 * events on `reports.rejected`, everything else goes to the dead-letter topic with the original
 * bytes and `hc-dlq-*` headers. Nothing is half-written in a database, and every service is still
 * ready afterwards.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { Header, registry, Topics } from '@hashcheck/events';
import { infra, TopicRecorder, waitFor } from '@hashcheck/testing';
import { bootSystem, SERVICES } from './system';

const FIXTURES = new URL('../../libs/events/fixtures/', import.meta.url);

function fixtureOf(type: string): Record<string, unknown> & { data: Record<string, unknown> } {
  return (JSON.parse(readFileSync(new URL(`${type}.v1.json`, FIXTURES), 'utf8')) as Array<Record<string, unknown> & { data: Record<string, unknown> }>)[0]!;
}

/** Event type carried on each topic (from the registry). */
function typeOn(topic: string): string | undefined {
  return registry.events().find((e) => e.topic === topic)?.type;
}

interface Poison {
  name: string;
  value: Buffer | null;
}

function poisonsFor(topic: string, compacted: boolean): Poison[] {
  const type = typeOn(topic);
  const out: Poison[] = [
    { name: 'undecodable bytes', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x01]) },
    { name: 'JSON but no envelope', value: Buffer.from('{"hello":"world"}') },
    { name: 'JSON array', value: Buffer.from('[1,2,3]') },
    { name: 'nesting 5000 deep', value: Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`) },
  ];
  // A tombstone is legitimate on a compacted topic (a deletion), poison anywhere else.
  if (!compacted) out.push({ name: 'empty value', value: null });
  if (type) {
    const good = fixtureOf(type);
    const injected = { ...good, id: randomUUID(), data: Object.fromEntries(Object.entries(good.data).map(([k, v]) => [k, typeof v === 'string' ? { $gt: '' } : v])) };
    out.push({ name: 'operator injection in every string field', value: Buffer.from(JSON.stringify(injected)) });
    out.push({ name: 'envelope with data of the wrong type', value: Buffer.from(JSON.stringify({ ...good, id: randomUUID(), data: 'not an object' })) });
    out.push({ name: 'unknown event version', value: Buffer.from(JSON.stringify({ ...good, id: randomUUID(), version: 99 })) });
    const deep = { ...good, id: randomUUID(), data: { ...good.data, extra: JSON.parse(`${'{"a":'.repeat(500)}1${'}'.repeat(500)}`) as unknown } };
    out.push({ name: 'extra property nested 500 deep', value: Buffer.from(JSON.stringify(deep)) });
  }
  return out;
}

/**
 * D1 on the Kafka side: a schema-invalid partner event whose payload holds $-prefixed keys or deep
 * nesting cannot be stored as a rejection (services/intake/src/store/reports.ts reject() copies the
 * raw payload into the document), the onInvalid handler throws, and kafkajs redelivers it forever:
 * no rejection, no dead letter, and the partition behind it is stuck.
 */
const KNOWN_D1 = /^hashcheck\.reports\.submitted\.v1 \[(nesting 5000 deep|operator injection in every string field|extra property nested 500 deep)\]/;
const poisonResult: { blocked?: number[]; missing?: string[]; ready?: string } = {};

test('poison messages in every input topic land in reports.rejected or the dead-letter topic, with their reason; nothing half-written', async (t) => {
  const env = infra(t);
  if (!env) return;
  const sys = await bootSystem(t, env, { logLevel: 'warn' });
  const p = sys.prefix;
  const kafka = new Kafka({ clientId: 'poisoner', brokers: env.brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());

  // Which of our groups read which topics: from the brokers' own view of the running consumers.
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(p));
  const readers = new Map<string, Set<string>>();
  await waitFor(async () => {
    readers.clear();
    const described = await admin.describeGroups(groups);
    for (const g of described.groups) {
      for (const m of g.members) {
        const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        for (const topic of Object.keys(a?.assignment ?? {})) {
          const set = readers.get(topic) ?? new Set<string>();
          set.add(g.groupId);
          readers.set(topic, set);
        }
      }
    }
    return described.groups.every((g) => g.state === 'Stable') && readers.size > 0;
  }, { timeoutMs: 60_000, what: 'every consumer group stable' });
  const inputs = [...readers.keys()].sort();
  t.diagnostic(`input topics and their groups: ${inputs.map((x) => `${x.slice(p.length)} <- ${[...readers.get(x)!].map((g) => g.slice(p.length)).join(', ')}`).join('; ')}`);
  const expectedInputs = [Topics.reportsSubmitted, Topics.reportsMatched, Topics.noticesRequested, Topics.noticesSent, Topics.removalsReported, Topics.casesClosed, Topics.providers];
  for (const topic of expectedInputs) assert.ok(readers.has(p + topic), `no consumer reads ${topic}`);

  const recorder = await new TopicRecorder(env.brokers).start([p + Topics.deadLetter, p + Topics.reportsRejected]);
  t.after(() => recorder.stop());
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());

  interface Sent { topic: string; name: string; partition: number; offset: string; groups: string[] }
  const sent: Sent[] = [];
  for (const topic of inputs) {
    const spec = registry.topic(topic.slice(p.length));
    const all = poisonsFor(topic.slice(p.length), spec?.cleanupPolicy === 'compact');
    const list = topic === p + Topics.reportsSubmitted ? all.filter((x) => !KNOWN_D1.test(`${Topics.reportsSubmitted} [${x.name}]`)) : all;
    for (const poison of list) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: `poison-${sent.length}`, value: poison.value, headers: { 'x-poison': poison.name } }] });
      sent.push({ topic, name: poison.name, partition: meta!.partition, offset: meta!.baseOffset!, groups: [...readers.get(topic)!] });
    }
  }
  // Behind the poison, one valid partner report on every partition of reports.submitted: poison
  // must not block the partition it sits in.
  const submittedTopic = p + Topics.reportsSubmitted;
  const partitions = (await admin.fetchTopicMetadata({ topics: [submittedTopic] })).topics[0]!.partitions.map((x) => x.partitionId);
  const good = fixtureOf('reports.submitted');
  const behind = partitions.map((partition) => ({ partition, reportId: `behind-poison:${partition}` }));
  await producer.send({
    topic: submittedTopic,
    acks: -1,
    messages: behind.map((b) => ({ partition: b.partition, key: b.reportId, value: JSON.stringify({ ...good, id: randomUUID(), subject: b.reportId, data: { ...good.data, reportId: b.reportId } }) })),
  });
  const expected = sent.reduce((n, s) => n + s.groups.length, 0);
  t.diagnostic(`poison messages sent: ${sent.length} into ${inputs.length} topics; (message, group) verdicts expected: ${expected}`);

  const intakeGroup = `${p}hashcheck-intake-submitted`;
  const verdictOf = (s: Sent, group: string): string | undefined => {
    const dead = recorder.on(p + Topics.deadLetter).find((m) =>
      m.headers[Header.DLQ_ORIGINAL_TOPIC] === s.topic.slice(p.length) && m.headers[Header.DLQ_ORIGINAL_PARTITION] === String(s.partition) && m.headers[Header.DLQ_ORIGINAL_OFFSET] === s.offset && m.headers[Header.DLQ_CONSUMER_GROUP] === group);
    if (dead) return `dead-letter ${dead.headers[Header.DLQ_ERROR_CODE]}: ${dead.headers[Header.DLQ_ERROR_MESSAGE]?.slice(0, 120)}`;
    if (group === intakeGroup) {
      const rej = recorder.on(p + Topics.reportsRejected).map((m) => m.json<{ data: { code: string; reasons: string[]; original: { topic?: string; partition?: number; offset?: string } } }>()).find((e) =>
        e.data.original.topic === s.topic.slice(p.length) && e.data.original.partition === s.partition && e.data.original.offset === s.offset);
      if (rej) return `rejected ${rej.data.code}: ${rej.data.reasons.join('; ').slice(0, 120)}`;
    }
    return undefined;
  };
  const missing = (): string[] => sent.flatMap((s) => s.groups.filter((g) => !verdictOf(s, g)).map((g) => `${s.topic.slice(p.length)} [${s.name}] in ${g.slice(p.length)}`));
  const reportsColl = sys.mongo.db(sys.databases.intake).collection('reports');
  const stored = async (): Promise<string[]> => (await reportsColl.find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)).sort();
  try {
    await waitFor(async () => missing().length === 0 && (await stored()).length === behind.length, { timeoutMs: 90_000, intervalMs: 500, what: 'a verdict for every poison message in every group' });
  } catch {
    // reported below with the list
  }
  for (const s of sent) for (const g of s.groups) t.diagnostic(`${s.topic.slice(p.length)} [${s.name}] ${g.slice(p.length)}: ${verdictOf(s, g) ?? 'NOTHING'}`);

  // Every service still answers and is ready.
  for (const service of SERVICES) {
    const ready = await sys.apps[service].inject('/health/ready');
    assert.equal(ready.statusCode, 200, `${service} is not ready after the poison: ${ready.body}`);
  }
  // Nothing half-written: the only reports are the valid ones behind the poison; no case or notice
  // item came out of poison.
  const have = await stored();
  const blocked: number[] = behind.filter((b) => !have.includes(b.reportId)).map((b) => b.partition);
  t.diagnostic(`valid reports behind the poison processed: ${behind.length - blocked.length}/${behind.length}${blocked.length ? ` (partitions stuck: ${blocked.join(', ')})` : ''}`);
  assert.deepEqual(have.filter((id) => !id.startsWith('behind-poison:')), [], 'intake stored a report from poison');
  for (const service of ['notification', 'enforcement'] as const) {
    const db = sys.mongo.db(sys.databases[service]);
    for (const c of (await db.listCollections().toArray()).filter((c) => /case|notice|item|step|fact/.test(c.name))) {
      assert.equal(await db.collection(c.name).countDocuments({}), 0, `${service} ${c.name} holds documents from poison`);
    }
  }
  assert.deepEqual(blocked, [], 'partitions of reports.submitted stuck behind poison');
  assert.deepEqual(missing(), [], 'poison messages that disappeared without a rejection or dead letter');

  // Phase 2, after everything above held: the poison D1 is about, then a valid report behind it
  // on the same partition. The todo test below reads what happened.
  const d1Sent: Sent[] = [];
  for (const poison of poisonsFor(Topics.reportsSubmitted, false).filter((x) => KNOWN_D1.test(`${Topics.reportsSubmitted} [${x.name}]`))) {
    const [meta] = await producer.send({ topic: submittedTopic, acks: -1, messages: [{ partition: 0, key: 'poison-d1', value: poison.value }] });
    d1Sent.push({ topic: submittedTopic, name: poison.name, partition: 0, offset: meta!.baseOffset!, groups: [intakeGroup] });
  }
  await producer.send({ topic: submittedTopic, acks: -1, messages: [{ partition: 0, key: 'after-d1', value: JSON.stringify({ ...good, id: randomUUID(), subject: 'after-d1', data: { ...good.data, reportId: 'after-d1' } }) }] });
  const d1Missing = (): string[] => d1Sent.filter((x) => !verdictOf(x, intakeGroup)).map((x) => `[${x.name}]`);
  await waitFor(async () => d1Missing().length === 0 && (await stored()).includes('after-d1'), { timeoutMs: 30_000, intervalMs: 500 }).catch(() => undefined);
  poisonResult.missing = d1Missing();
  poisonResult.blocked = (await stored()).includes('after-d1') ? [] : [0];
  poisonResult.ready = (await sys.apps.intake.inject('/health/ready')).body;
});


// D1 (fixed): intake kept a refused payload as a document, which the database refused for $-keys and
// deep nesting, so the message was redelivered forever; payloads are now kept as JSON text, and a
// failing invalid-message handler dead-letters instead of holding the partition.
test('D1 (Kafka): poison with $-keys or deep nesting in reports.submitted is rejected and does not block its partition', (t) => {
  if (!poisonResult.missing) return t.skip('the poison test did not run');
  for (const m of poisonResult.missing) t.diagnostic(`no verdict: ${m}`);
  t.diagnostic(`intake readiness afterwards: ${poisonResult.ready}`);
  t.diagnostic(`valid report behind the poison on partition 0 processed: ${poisonResult.blocked?.length === 0}`);
  assert.deepEqual(poisonResult.missing, []);
  assert.deepEqual(poisonResult.blocked, [], 'partitions stuck behind poison');
});
