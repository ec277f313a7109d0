/**
 * Poison in every input topic while partner reports stream through the pipeline: undecodable bytes
 * and JSON that is no event envelope, sent into each topic the running consumer groups read (found
 * from the broker's view of their assignments). Each (message, group) must end up on the
 * dead-letter topic with the reason in its headers, or for intake's partner topic as a
 * reports.rejected event; the stream behind the poison goes on (every report accounted for once at
 * every stage). Uses the test run's stack under a topic prefix and databases of its own.
 * `HASHCHECK_FAULTS=full`. (test/hostile/topics.test.ts tries many more kinds of poison, without a stream.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { Header, Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { FULL, sleep } from './harness';
import { BUDGET_MS, PIPELINE_N, runScenario, startPipeline } from './pipeline';

const POISONS = [
  { name: 'undecodable bytes', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x01]) },
  { name: 'JSON that is no envelope', value: Buffer.from('{"hello":"world"}') },
];

interface Sent { topic: string; name: string; partition: number; offset: string; groups: string[] }

test('a poison message in every input topic mid-stream: each dead-lettered (or rejected) with its reason, the stream goes on', { skip: FULL ? false : 'HASHCHECK_FAULTS=full', timeout: BUDGET_MS }, async (t) => {
  const env = infra(t);
  if (!env) return;
  const p = await startPipeline(t, { brokers: env.brokers, mongoUri: env.mongoUri });
  const kafka = new Kafka({ clientId: 'faults-poisoner', brokers: env.brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  const sent: Sent[] = [];
  const rejected = (s: Sent): string | undefined => {
    const e = p.recorder.on(p.prefix + Topics.reportsRejected).map((m) => m.json<{ data: { code: string; reasons: string[]; original: { topic?: string; partition?: number; offset?: string } } }>())
      .find((x) => x.data.original.topic === s.topic.slice(p.prefix.length) && x.data.original.partition === s.partition && x.data.original.offset === s.offset);
    return e ? `rejected ${e.data.code}: ${e.data.reasons.join('; ').slice(0, 100)}` : undefined;
  };
  const verdict = (s: Sent, group: string): string | undefined => {
    const dead = p.recorder.on(p.prefix + Topics.deadLetter).find((m) => m.headers[Header.DLQ_ORIGINAL_TOPIC] === s.topic.slice(p.prefix.length)
      && m.headers[Header.DLQ_ORIGINAL_PARTITION] === String(s.partition) && m.headers[Header.DLQ_ORIGINAL_OFFSET] === s.offset && m.headers[Header.DLQ_CONSUMER_GROUP] === group);
    if (dead) return `dead letter ${dead.headers[Header.DLQ_ERROR_CODE]}: ${dead.headers[Header.DLQ_ERROR_MESSAGE]?.slice(0, 100)}`;
    return s.topic === p.prefix + Topics.reportsSubmitted ? rejected(s) : undefined;
  };
  const missing = (): string[] => sent.flatMap((s) => s.groups.filter((g) => !verdict(s, g)).map((g) => `${s.topic.slice(p.prefix.length)} [${s.name}] in ${g.slice(p.prefix.length)}`));

  await runScenario(t, assert, p, {
    label: 'poison in every input topic',
    n: PIPELINE_N,
    rate: 6,
    fault: async () => {
      await sleep(3000);
      // Which of our groups read which topics, from the broker's view of the running consumers.
      const readers = new Map<string, Set<string>>();
      await waitFor(async () => {
        readers.clear();
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(p.prefix));
        const described = await admin.describeGroups(groups);
        for (const g of described.groups) {
          for (const m of g.members) {
            for (const topic of Object.keys(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {})) {
              readers.set(topic, (readers.get(topic) ?? new Set<string>()).add(g.groupId));
            }
          }
        }
        return described.groups.every((g) => g.state === 'Stable') && readers.size > 0;
      }, { timeoutMs: 60_000, what: 'every consumer group stable' });
      for (const topic of [Topics.reportsSubmitted, Topics.reportsAccepted, Topics.reportsMatched, Topics.noticesSent, Topics.noticesRequested]) {
        assert.ok(readers.has(p.prefix + topic), `no consumer reads ${topic}`);
      }
      for (const [topic, groups] of readers) {
        for (const poison of POISONS) {
          const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: `poison-${sent.length}`, value: poison.value, headers: { 'x-poison': poison.name } }] });
          sent.push({ topic, name: poison.name, partition: meta!.partition, offset: meta!.baseOffset!, groups: [...groups] });
        }
      }
    },
  }).finally(async () => {
    await waitFor(() => missing().length === 0, { timeoutMs: 10_000, what: 'verdicts' }).catch(() => undefined);
    t.diagnostic(`poison: ${sent.length} messages into ${new Set(sent.map((s) => s.topic)).size} topics, ${sent.reduce((n, s) => n + s.groups.length, 0)} (message, group) verdicts expected, ${sent.reduce((n, s) => n + s.groups.filter((g) => verdict(s, g)).length, 0)} found`);
    for (const s of sent) for (const g of s.groups) t.diagnostic(`  ${s.topic.slice(p.prefix.length)} [${s.name}] ${g.slice(p.prefix.length)}: ${verdict(s, g) ?? 'NOTHING'}`);
  });
  assert.deepEqual(missing(), [], 'poison that disappeared without a dead letter or a rejection');
});
