/**
 * The launcher's failure and lifecycle behaviour: missing tools give a clear error, a component
 * that dies at start gives its log's tail, children do not outlive the Node parent, and Kafka /
 * the database survive SIGKILL + restart with their data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { checkGo, checkJava, checkMaven, findOnPath, startStack, waitForTopicLeaders } from '@hashcheck/stack';
import type { StackCrash } from '@hashcheck/stack';

const NO_TOOLS = { PATH: '/nonexistent-bin' } as NodeJS.ProcessEnv;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  return !alive(pid);
}

test('a PATH without java gives an error naming java and how to install it', () => {
  assert.throws(
    () => checkJava(NO_TOOLS),
    (err: Error & { code?: string; details?: { missing?: string } }) => {
      assert.equal(err.code, 'HC_STACK_PREREQ_MISSING');
      assert.equal(err.details?.missing, 'java');
      assert.match(err.message, /java was not found on PATH/);
      assert.match(err.message, /apt-get install -y openjdk-17-jdk-headless/);
      return true;
    },
  );
  assert.throws(() => checkMaven(NO_TOOLS), /mvn was not found[\s\S]*apt-get install -y maven/);
  assert.throws(() => checkGo(NO_TOOLS), /go was not found[\s\S]*golang/);
});

test('startStack fails fast, before downloading anything, when java is missing', async () => {
  const t0 = Date.now();
  await assert.rejects(
    startStack({ env: { ...NO_TOOLS, MONGODB_URI: 'mongodb://127.0.0.1:1' }, log: false }),
    (err: Error & { code?: string }) => err.code === 'HC_STACK_PREREQ_MISSING' && /java/.test(err.message),
  );
  assert.ok(Date.now() - t0 < 5_000, 'no download, no hang');
});

test('an old java is refused with the version it found', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-fake-java-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'java'), '#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n');
  chmodSync(join(dir, 'java'), 0o755);
  assert.equal(findOnPath('java', dir), join(dir, 'java'));
  assert.throws(() => checkJava({ PATH: dir }), /Java 11, Kafka 4 and Zipkin 3 need Java 17/);
});

test('a database that dies at start gives a clear error with the tail of its log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-fake-mongod-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Stands in for a broken mongod binary (not for the database): it must make the launcher fail.
  writeFileSync(join(dir, 'mongod'), '#!/bin/sh\necho "fatal: disk on fire (test)"\nexit 3\n');
  chmodSync(join(dir, 'mongod'), 0o755);
  const runDir = join(dir, 'run');
  await assert.rejects(
    startStack({
      env: { PATH: `${dir}:${process.env.PATH ?? ''}`, KAFKA_BROKERS: '127.0.0.1:1', HASHCHECK_CACHE: join(dir, 'cache') },
      mongo: 'mongod',
      runDir,
      startTimeoutMs: 20_000,
      log: false,
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'HC_STACK_START_FAILED');
      assert.match(err.message, /mongod exited with code 3/);
      assert.match(err.message, /disk on fire \(test\)/);
      assert.ok(err.message.includes(runDir), 'names the log location');
      return true;
    },
  );
});

test('the database server does not outlive a SIGKILLed Node parent', { timeout: 120_000 }, async (t) => {
  // The parent starts only the MongoDB-wire server (cheap), prints its pid, then waits.
  const script = `
    import { startStack, waitForTopicLeaders } from '@hashcheck/stack';
    const s = await startStack({ log: false });
    process.stdout.write(JSON.stringify(s.pids?.()) + '\\n');
    setInterval(() => {}, 1000);
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1' };
  delete env.MONGODB_URI;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env,
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => parent.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    parent.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0] ?? '');
    });
    parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
  });
  const pid = (JSON.parse(line) as { mongo?: number }).mongo;
  assert.ok(pid && alive(pid), 'database child runs');
  parent.kill('SIGKILL');
  assert.ok(await waitDead(pid, 15_000), `database pid ${pid} still alive 15 s after its parent was SIGKILLed`);
});

test('a database that dies after start-up is reported through onCrash', { timeout: 120_000 }, async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1' };
  delete env.MONGODB_URI;
  let crashed: (c: StackCrash) => void = () => undefined;
  const crash = new Promise<StackCrash>((resolve) => (crashed = resolve));
  const stack = await startStack({ env, log: false, onCrash: (c) => crashed(c) });
  t.after(() => stack.stop());
  const pid = stack.pids?.().mongo;
  assert.ok(pid);
  process.kill(pid, 'SIGKILL'); // from outside, as a crash would
  const c = await crash;
  assert.equal(c.component, 'mongo');
  assert.equal(c.description, 'was killed by SIGKILL');
  assert.ok(c.logFile.startsWith(stack.logDir));
});

test('killKafka/restartKafka and killMongo/restartMongo keep ports and data; stop leaves no process', { timeout: 300_000 }, async (t) => {
  // Needs a stack of its own: the runner's shared stack must not be killed under other tests.
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  delete env.MONGODB_URI;
  delete env.ZIPKIN_URL;
  const stack = await startStack({ env, log: false, kafkaHeapMb: 384 });
  t.after(() => stack.stop());
  const pids = (): { kafka?: number; mongo?: number } => stack.pids?.() ?? {};
  const before = pids();
  assert.ok(before.kafka && before.mongo);

  const kafka = new Kafka({ clientId: 'stack-lifecycle', brokers: [stack.kafkaBrokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `lifecycle-${randomUUID()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
  await waitForTopicLeaders(admin, [topic]);
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ value: 'before-crash' }] });
  await producer.disconnect();

  const mongo = new MongoClient(stack.mongoUri, { serverSelectionTimeoutMS: 20_000 });
  const col = mongo.db('lifecycle').collection('c');
  await col.insertOne({ _id: 'kept' } as never);

  await Promise.all([stack.killKafka(), stack.killMongo()]);
  assert.ok(!alive(before.kafka) && !alive(before.mongo), 'SIGKILLed');
  assert.deepEqual(pids(), {});
  await Promise.all([stack.restartKafka(), stack.restartMongo()]);
  const after = pids();
  assert.ok(after.kafka && after.mongo && after.kafka !== before.kafka && after.mongo !== before.mongo);

  // Same address, data survived.
  assert.equal(await col.countDocuments({ _id: 'kept' } as never), 1);
  await mongo.close();
  const consumer = kafka.consumer({ groupId: `lifecycle-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const value = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message after restart within 60 s')), 60_000);
    void consumer.run({ eachMessage: async ({ message }) => { clearTimeout(timer); resolve(message.value?.toString() ?? ''); } });
  });
  await consumer.disconnect();
  assert.equal(value, 'before-crash');

  await stack.stop();
  assert.ok(!alive(after.kafka) && !alive(after.mongo), 'stop() ended both processes');
});
