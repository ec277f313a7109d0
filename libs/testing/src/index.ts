import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';

export interface Infra {
  brokers: string;
  mongoUri: string;
}

/**
 * The infrastructure the test runner started (or the one the environment points at). A test that
 * needs it and finds none skips and says why; it never passes silently.
 */
export function infra(t: TestContext): Infra | undefined {
  const brokers = process.env.KAFKA_BROKERS;
  const mongoUri = process.env.MONGODB_URI;
  if (!brokers || !mongoUri) {
    t.skip('needs KAFKA_BROKERS and MONGODB_URI: run through `npm test`, which starts a real Kafka broker and MongoDB-wire server');
    return undefined;
  }
  return { brokers, mongoUri };
}

export function randomName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** A MongoDB URI pointing at a fresh database name. */
export function databaseUri(mongoUri: string, dbName: string): string {
  const u = new URL(mongoUri);
  u.pathname = `/${dbName}`;
  return u.toString();
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
  throw new Error(`timed out waiting for ${options.what ?? 'condition'}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export interface CollectedMessage {
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  json<T = unknown>(): T;
}

/**
 * Reads topics from the beginning with its own consumer group and keeps everything it sees, so a
 * test can assert on every output topic of the system under test.
 */
export class TopicRecorder {
  readonly messages: CollectedMessage[] = [];
  #kafka: Kafka;
  #consumer: ReturnType<Kafka['consumer']> | undefined;

  constructor(brokers: string) {
    this.#kafka = new Kafka({ clientId: randomName('recorder'), brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  }

  async start(topics: string[]): Promise<this> {
    const consumer = this.#kafka.consumer({ groupId: randomName('recorder'), allowAutoTopicCreation: false });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    // Wait for the group join, so that a test's timeouts start when the recorder is really reading.
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => { off(); resolve(); });
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        this.messages.push(toCollected(topic, message));
      },
    });
    await joined;
    return this;
  }

  on(topic: string): CollectedMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async waitForCount(topic: string, count: number, timeoutMs = 60_000): Promise<CollectedMessage[]> {
    return waitFor(() => (this.on(topic).length >= count ? this.on(topic) : undefined), { timeoutMs, what: `${count} messages on ${topic} (have ${this.on(topic).length})` });
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect();
  }
}

function toCollected(topic: string, message: KafkaMessage): CollectedMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) headers[k] = first.toString();
  }
  const value = message.value;
  return {
    topic,
    key: message.key ? message.key.toString() : null,
    value,
    headers,
    json<T>() {
      return JSON.parse(value?.toString() ?? 'null') as T;
    },
  };
}
export * from './faults';
