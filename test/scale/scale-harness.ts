/**
 * Shared by the scale tests: who in a consumer group holds which partitions, what the group has
 * committed, and a service started as its own process (what a container runs) so it can be
 * SIGKILLed like a crashed pod.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { randomName, waitFor } from '@hashcheck/testing';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function adminKafka(brokers: string): Kafka {
  return new Kafka({ clientId: randomName('scale-admin'), brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}

/** The members of a consumer group and how many partitions of `topic` each holds. */
export async function assignment(kafka: Kafka, group: string, topic: string): Promise<number[]> {
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

/** Waits until exactly `members` members hold partitions of `topic` between them, each at least one. */
export async function waitShared(kafka: Kafka, group: string, topic: string, partitions: number, members = 2): Promise<number[]> {
  return waitFor(async () => {
    const a = await assignment(kafka, group, topic);
    return a.length === members && a.every((n) => n > 0) && a.reduce((s, n) => s + n, 0) === partitions ? a : undefined;
  }, { timeoutMs: 90_000, intervalMs: 300, what: `${members} members of ${group} sharing the ${partitions} partitions of ${topic}` });
}

/** How many partitions of `topic` the group has committed an offset on. */
export async function committedPartitions(kafka: Kafka, group: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (t?.partitions ?? []).filter((p) => BigInt(p.offset) > 0n).length;
  } finally {
    await admin.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** SIGKILL (no goodbye to the group, no lease released, nothing flushed) and wait for the exit. */
  kill: () => Promise<void>;
}

/** A service as its own process, ready (`/health/ready`) when this resolves. */
export async function spawnService(service: string, vars: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', `services/${service}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, ...vars, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-4000); });
  child.stderr?.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-4000); });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  try {
    await waitFor(async () => {
      if (gone()) throw new Error(`${service} process exited ${child.exitCode ?? child.signalCode}: ${out}`);
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      return res?.ok;
    }, { timeoutMs: 120_000, intervalMs: 250, what: `the ${service} process to be ready` });
  } catch (err) {
    if (!gone()) child.kill('SIGKILL');
    throw err;
  }
  return {
    child,
    port,
    output: () => out,
    kill: async () => {
      if (gone()) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The two-instance scenarios take 1.5–2 minutes per file alone and far more when three run side by
 * side on a loaded 2-core machine (they timed out there), so they run only when asked for:
 * HASHCHECK_SCALE=full. Returns false (and skips, saying why) otherwise.
 */
export function scaleEnabled(t: TestContext): boolean {
  if (process.env.HASHCHECK_SCALE === 'full') return true;
  t.skip('two-instance scale scenario (1.5-2 min per file): set HASHCHECK_SCALE=full to run it, e.g. HASHCHECK_SCALE=full HASHCHECK_TEST_CONCURRENCY=1 npm run test:only -- test/scale/*.test.ts');
  return false;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
