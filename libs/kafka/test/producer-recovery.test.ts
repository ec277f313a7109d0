/**
 * EventProducer after a send whose response was lost: the broker appended the batch, the client saw
 * the connection die and gave up. Plain kafkajs then reuses the batch's sequence numbers, and the
 * broker either drops the next batch as a duplicate while kafkajs reports success, or refuses every
 * later batch with OUT_OF_ORDER_SEQUENCE_NUMBER (D11, docs/reliability.md). Real broker; the fault
 * is a socket that passes the Produce request through and loses the broker's answer, then refuses
 * connections until the send has given up, as a broker killed mid-request would.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent, type EventEnvelope } from '@hashcheck/events';
import { ensureTopics, EventProducer } from '@hashcheck/kafka';
import { infra, randomName, TopicRecorder, waitFor } from '@hashcheck/testing';

const PRODUCE_API_KEY = 0;

/** Sockets that can lose the answer to the next Produce request, then refuse to connect while `down`. */
class LossyNetwork {
  armed = false;
  down = false;

  readonly socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port: this.down ? 1 : port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    let loseAnswer = false;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((data: unknown, ...rest: unknown[]) => {
      // Kafka request framing: int32 size, then int16 api key.
      if (this.armed && Buffer.isBuffer(data) && data.length > 6 && data.readInt16BE(4) === PRODUCE_API_KEY) {
        this.armed = false;
        loseAnswer = true;
      }
      return write(data, ...rest);
    }) as typeof socket.write;
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'data' && loseAnswer) {
        loseAnswer = false;
        this.down = true;
        socket.destroy(new Error('test: the answer to a Produce request was lost'));
        return true;
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
    return socket;
  };
}

async function setup(t: TestContext) {
  const env = infra(t);
  if (!env) return undefined;
  const reg = new EventRegistry();
  const prefix = `${randomName('pr')}.`;
  // One partition: every batch shares one sequence, as the events of one subject do.
  reg.addTopic({ name: 'work.v1', partitions: 1, cleanupPolicy: CleanupPolicy.DELETE, description: 'test' });
  const Work = reg.add(defineEvent({ type: 'test.work', version: 1, topic: 'work.v1', description: 'w', schema: Type.Object({ n: Type.Integer() }) }));
  await ensureTopics(new Kafka({ brokers: env.brokers.split(','), logLevel: logLevel.NOTHING }), reg.topics(), { prefix });
  const network = new LossyNetwork();
  // Few, quick retries: the send gives up while the connection is refused, as kafkajs does when a
  // broker stays down past its retry budget.
  const kafka = new Kafka({
    clientId: 'producer-recovery', brokers: env.brokers.split(','), logLevel: logLevel.NOTHING,
    socketFactory: network.socketFactory, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
  });
  const warnings: string[] = [];
  const producer = new EventProducer(kafka, new EventCodec(reg), prefix, { warn: (_o, m) => warnings.push(m) });
  await producer.connect();
  t.after(() => producer.disconnect());
  const recorder = await new TopicRecorder(env.brokers).start([`${prefix}work.v1`]);
  t.after(() => recorder.stop());
  const events = (from: number, count: number): EventEnvelope[] =>
    Array.from({ length: count }, (_, i) => createEvent(Work, { subject: 'one-subject', source: 'test', data: { n: from + i } }));
  const numbersOnTopic = () => recorder.on(`${prefix}work.v1`).map((m) => m.json<EventEnvelope<{ n: number }>>().data.n);
  /** Publishes `n` with its answer lost; the send fails and the broker stays away until `network.down = false`. */
  const publishLosingAnswer = async (n: number): Promise<void> => {
    network.armed = true;
    await assert.rejects(producer.publish('work.v1', events(n, 1)));
  };
  /** The numbers on the topic once `count` have arrived and nothing more comes. */
  const settled = async (count: number): Promise<number[]> => {
    await recorder.waitForCount(`${prefix}work.v1`, count);
    await new Promise((r) => setTimeout(r, 500));
    return numbersOnTopic();
  };
  await producer.publish('work.v1', events(0, 1));
  return { network, producer, events, publishLosingAnswer, settled, warnings };
}

test('after a send whose answer was lost, the next batch is neither dropped as a duplicate nor refused as out of order', async (t) => {
  const f = await setup(t);
  if (!f) return;
  const { network, producer, events, publishLosingAnswer } = f;
  // The same number of messages as the lost batch: plain kafkajs sends it under the lost batch's
  // sequence, the broker takes it for a retry of that batch and kafkajs reports success.
  await publishLosingAnswer(1);
  network.down = false;
  await producer.publish('work.v1', events(2, 1));

  // A different number: plain kafkajs gets OUT_OF_ORDER_SEQUENCE_NUMBER here, and on every send after.
  await publishLosingAnswer(3);
  network.down = false;
  await producer.publish('work.v1', events(4, 2));
  await producer.publish('work.v1', events(6, 1));

  // 1 and 3 were appended although their sends failed: the broker had them before the answer was lost.
  assert.deepEqual(await f.settled(7), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(producer.replaced, 2, 'each failed send replaced the producer once');
  assert.equal(f.warnings.length, 2);
  assert.ok(producer.connected, 'the replacement connected');
});

test('a send queued behind one that fails waits for it, then goes out on the new producer', async (t) => {
  const f = await setup(t);
  if (!f) return;
  const { network, producer, events } = f;
  network.armed = true;
  const first = producer.publish('work.v1', events(1, 1));
  const second = producer.publish('work.v1', events(2, 1));
  // The broker comes back the moment the first send gives up, while the second is waiting.
  first.catch(() => { network.down = false; });
  const [a, b] = await Promise.allSettled([first, second]);
  assert.equal(a.status, 'rejected');
  assert.equal(b.status, 'fulfilled', 'the queued send went out');

  assert.deepEqual(await f.settled(3), [0, 1, 2]);
});

test('a replaced producer that cannot reconnect while the broker is away connects when the readiness probe asks', async (t) => {
  const f = await setup(t);
  if (!f) return;
  const { network, producer, events, publishLosingAnswer } = f;
  await publishLosingAnswer(1);
  // Still away: the replacement's own attempt to connect fails.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(producer.connected, false);
  network.down = false;
  producer.reconnect();
  await waitFor(() => producer.connected, { what: 'the replacement to connect', timeoutMs: 10_000 });
  await producer.publish('work.v1', events(2, 1));
  assert.deepEqual(await f.settled(3), [0, 1, 2]);
});
