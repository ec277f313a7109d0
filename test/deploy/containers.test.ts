/**
 * The containers mode of the test stack (libs/stack/src/containers.ts): Kafka, a MongoDB-wire
 * server and Zipkin as containers through testcontainers, used for real (produce/consume, insert/find),
 * a broker kill + restart on the same data, and a clean stop that leaves no container behind.
 *
 * Runs when HASHCHECK_STACK=containers (deploy/ci-containers.sh sets it, with the images);
 * skips with the reason otherwise, and when no container engine answers.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { getContainerRuntimeClient } from 'testcontainers';
import { ContainerNetwork, STACK_LABEL, containerSettings, kafkaContainerEnv, startContainerStack } from '@hashcheck/stack';
import { randomName, waitFor } from '@hashcheck/testing';

test('containerSettings: official images by default on a bridge, local images on the host network', () => {
  const d = containerSettings({});
  assert.deepEqual(d.images, { kafka: 'apache/kafka:4.1.1', mongo: 'mongo:8', zipkin: 'openzipkin/zipkin:3' });
  assert.equal(d.network, ContainerNetwork.BRIDGE);
  const local = containerSettings({ HASHCHECK_KAFKA_IMAGE: 'hashcheck-local/kafka:4.1.2', HASHCHECK_MONGO_IMAGE: 'hashcheck-local/mongo:ferretdb-1.24.2' });
  assert.equal(local.images.kafka, 'hashcheck-local/kafka:4.1.2');
  assert.equal(local.network, ContainerNetwork.HOST);
  assert.equal(containerSettings({ HASHCHECK_CONTAINER_NETWORK: 'bridge', HASHCHECK_KAFKA_IMAGE: 'hashcheck-local/kafka:x' }).network, ContainerNetwork.BRIDGE);
  assert.throws(() => containerSettings({ HASHCHECK_CONTAINER_NETWORK: 'overlay' }), /host or bridge/);
});

test('kafkaContainerEnv: one KRaft node that advertises the address clients use', () => {
  const env = kafkaContainerEnv({ bindHost: '127.0.0.1', advertisedHost: '127.0.0.1', brokerPort: 19092, controllerPort: 19093, heapMb: 384, clusterId: 'abc' });
  assert.equal(env.KAFKA_LISTENERS, 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
  assert.equal(env.KAFKA_ADVERTISED_LISTENERS, 'PLAINTEXT://127.0.0.1:19092');
  assert.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, '1@127.0.0.1:19093');
  assert.equal(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE, 'false');
  assert.equal(env.KAFKA_HEAP_OPTS, '-Xms256m -Xmx384m');
  assert.equal(env.CLUSTER_ID, 'abc');
});

async function engineProblem(): Promise<string | undefined> {
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

test('containers stack: Kafka and MongoDB in containers, kill/restart, clean stop', { timeout: 300_000 }, async (t) => {
  if (process.env.HASHCHECK_STACK !== 'containers') {
    t.skip('containers mode not selected: set HASHCHECK_STACK=containers (deploy/ci-containers.sh starts an engine, builds the images and sets it)');
    return;
  }
  const problem = await engineProblem();
  if (problem) {
    t.skip(`no container engine reachable: ${problem}`);
    return;
  }
  // This test starts its own containers even when the runner's stack is already in the environment.
  const env = { ...process.env, KAFKA_BROKERS: '', MONGODB_URI: '', ZIPKIN_URL: '' };
  const client = await getContainerRuntimeClient();
  // The test runner's own stack may be containers too: only the ones started here count.
  const before = new Set((await client.container.list()).map((c) => c.Id));
  const stack = await startContainerStack({ env, log: false });
  t.after(() => stack.stop());
  assert.deepEqual(stack.managed, { kafka: true, mongo: true, zipkin: false });

  const settings = containerSettings(process.env);
  const ours = (await client.container.list()).filter((c) => !before.has(c.Id) && c.Labels[STACK_LABEL] !== undefined && c.State === 'running');
  assert.equal(ours.length, 2, 'the Kafka and MongoDB containers run');
  if (settings.network === ContainerNetwork.HOST) {
    for (const c of ours) assert.equal(c.HostConfig.NetworkMode, 'host');
    assert.match(stack.kafkaBrokers, /^127\.0\.0\.1:\d+$/);
    assert.match(stack.mongoUri, /^mongodb:\/\/127\.0\.0\.1:\d+$/);
  }

  // Kafka for real: a topic, a message produced and read back.
  const kafka = new Kafka({ clientId: 'containers-test', brokers: stack.kafkaBrokers.split(','), logLevel: logLevel.NOTHING });
  const topic = randomName('containers');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: 'before restart' }] });

  // MongoDB for real.
  const mongo = new MongoClient(stack.mongoUri, { serverSelectionTimeoutMS: 10_000 });
  await mongo.connect();
  const coll = mongo.db(randomName('containers').replace(/-/g, '_')).collection('things');
  await coll.insertOne({ _id: 'a' as unknown as never, n: 1 });
  assert.equal((await coll.findOne({ n: 1 }))?.n, 1);
  await mongo.close();

  // The broker dies and comes back with its data (same container, same ports).
  await producer.disconnect();
  await stack.killKafka();
  await stack.restartKafka();
  const producer2 = kafka.producer();
  await producer2.connect();
  await producer2.send({ topic, messages: [{ key: 'k', value: 'after restart' }] });
  await producer2.disconnect();

  const consumer = kafka.consumer({ groupId: randomName('containers') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)), 60_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
        if (seen.length === 2) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  assert.deepEqual(seen, ['before restart', 'after restart']);

  await stack.stop();
  const left = (await client.container.list()).filter((c) => ours.some((o) => o.Id === c.Id));
  assert.deepEqual(left, [], 'stop() removes the containers');
});

test('containers stack: the Zipkin trace viewer as a container', { timeout: 300_000 }, async (t) => {
  if (process.env.HASHCHECK_STACK !== 'containers') {
    t.skip('containers mode not selected: set HASHCHECK_STACK=containers');
    return;
  }
  const problem = await engineProblem();
  if (problem) {
    t.skip(`no container engine reachable: ${problem}`);
    return;
  }
  // Kafka and MongoDB "from the environment": only the trace viewer starts. A JVM web server is
  // slow to start on two busy cores: a longer timeout than the default.
  const env = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1', ZIPKIN_URL: '' };
  const stack = await startContainerStack({ env, log: false, zipkin: true, startTimeoutMs: 240_000 });
  t.after(() => stack.stop());
  assert.deepEqual(stack.managed, { kafka: false, mongo: false, zipkin: true });
  const health = await fetch(`${stack.zipkinUrl}/health`);
  assert.equal(health.status, 200, 'the trace viewer answers');
  assert.equal(stack.env().OTEL_TRACES_EXPORTER, 'zipkin');
  // A span posted the way the services' Zipkin exporter does is there to read back.
  const traceId = randomBytes(16).toString('hex');
  const span = [{ traceId, id: traceId.slice(0, 16), name: 'containers-test', timestamp: Date.now() * 1000, duration: 1000, localEndpoint: { serviceName: 'containers-test' } }];
  const posted = await fetch(stack.env().OTEL_EXPORTER_ZIPKIN_ENDPOINT ?? '', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(span) });
  assert.equal(posted.status, 202);
  const got = await waitFor(async () => {
    const res = await fetch(`${stack.zipkinUrl}/api/v2/trace/${traceId}`);
    return res.ok ? ((await res.json()) as Array<{ name: string }>) : undefined;
  }, { timeoutMs: 20_000, what: 'the span in Zipkin' });
  assert.equal(got[0]?.name, 'containers-test');
});

test('containers stack: a missing image is a clear start failure', { timeout: 120_000 }, async (t) => {
  if (process.env.HASHCHECK_STACK !== 'containers') {
    t.skip('containers mode not selected: set HASHCHECK_STACK=containers');
    return;
  }
  const problem = await engineProblem();
  if (problem) {
    t.skip(`no container engine reachable: ${problem}`);
    return;
  }
  const env = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: '', ZIPKIN_URL: '', HASHCHECK_MONGO_IMAGE: 'hashcheck-local/no-such-image:0', HASHCHECK_CONTAINER_NETWORK: 'host' };
  await assert.rejects(startContainerStack({ env, log: false, startTimeoutMs: 60_000 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'HC_STACK_START_FAILED');
    assert.match(err.message, /no-such-image/);
    return true;
  });
});
