/**
 * Shared by the pipeline end-to-end tests and benchmark: boots services in-process against the real
 * stack under one random topic prefix, and plays a partner with plain kafkajs.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import type { ReportsSubmittedData } from '@hashcheck/events';
import { buildApp as buildIntake, hashApiKey, IntakeConfigSchema } from '@hashcheck/intake';
import { randomName, waitFor, type Infra } from '@hashcheck/testing';

export const HOTLINE_KEY = 'e2e-hotline-key';
export const ADMIN_KEY = 'e2e-admin-key';
export const PROVIDER_SECRET_KEY = `k1:${'42'.repeat(32)}`;

export interface Isolation {
  prefix: string;
  /** Database name per service: `<base>_<service>`. */
  dbBase: string;
}

export function isolation(): Isolation {
  return { prefix: `${randomName('e2e')}.`, dbBase: randomName('e2e').replace(/-/g, '_') };
}

export function baseEnv(env: Infra, iso: Isolation, service: string): Record<string, string> {
  return {
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: `${iso.dbBase}_${service.replace(/-/g, '_')}`.slice(0, 60),
    KAFKA_TOPIC_PREFIX: iso.prefix,
    OUTBOX_POLL_MS: '100',
    LOG_LEVEL: 'silent',
  };
}

export async function bootIntake(env: Infra, iso: Isolation, extra: Record<string, string> = {}) {
  const config = loadConfig(IntakeConfigSchema, {
    ...baseEnv(env, iso, 'intake'),
    INTAKE_API_KEYS: `hotline:hotline:${hashApiKey(HOTLINE_KEY)},ops:admin:${hashApiKey(ADMIN_KEY)}`,
    PROVIDER_SECRET_KEY,
    ...extra,
  });
  const app = await buildIntake(config, { logger: pino({ level: process.env.E2E_LOG_LEVEL ?? 'silent' }) });
  await app.ready();
  return { app, config };
}

/** A `reports.submitted` v1 event exactly as a partner would serialise it. */
export function submitted(data: ReportsSubmittedData, over: { id?: string } = {}) {
  return { id: over.id ?? randomUUID(), type: 'reports.submitted', version: 1, occurredAt: new Date().toISOString(), source: data.source, subject: data.reportId, data };
}

/** A partner system: plain kafkajs, no HashCheck code between it and the topic. */
export class Partner {
  readonly kafka: Kafka;
  #producer: Producer | undefined;

  constructor(brokers: string, readonly topic: string) {
    this.kafka = new Kafka({ clientId: randomName('partner'), brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  }

  async send(messages: Array<{ key?: string; value: Buffer | string; headers?: Record<string, string> }>): Promise<void> {
    if (!this.#producer) {
      this.#producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.#producer.connect();
    }
    await this.#producer.send({ topic: this.topic, acks: -1, messages: messages.map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers ?? {} })) });
  }

  async publish(events: Array<ReturnType<typeof submitted>>): Promise<void> {
    await this.send(events.map((e) => ({ key: e.subject, value: JSON.stringify(e) })));
  }

  async close(): Promise<void> {
    await this.#producer?.disconnect();
  }
}

/** Waits until a consumer group has committed up to the end of a topic (nothing left to process). */
export async function waitCaughtUp(kafka: Kafka, groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        return ends.every((e) => BigInt(e.high) === BigInt(e.low) || (at.get(e.partition) ?? -1n) >= BigInt(e.high));
      },
      { timeoutMs, intervalMs: 200, what: `group ${groupId} to reach the end of ${topic}` },
    );
  } finally {
    await admin.disconnect();
  }
}

/** Rewinds a consumer group (which must have no members) to the start of a topic: a replay. */
export async function rewind(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.resetOffsets({ groupId, topic, earliest: true });
  } finally {
    await admin.disconnect();
  }
}
