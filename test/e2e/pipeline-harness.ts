/**
 * Shared by the pipeline end-to-end tests and benchmark: boots services in-process against the real
 * stack under one random topic prefix, and plays a partner with plain kafkajs.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import type { ReportsSubmittedData } from '@hashcheck/events';
import { buildApp as buildEnforcement, EnforcementConfigSchema } from '@hashcheck/enforcement';
import { buildApp as buildHashCheck, HashCheckConfigSchema } from '@hashcheck/hash-check';
import type { App } from '@hashcheck/http';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp as buildIntake, IntakeConfigSchema } from '@hashcheck/intake';
import { buildApp as buildNotification, NotificationConfigSchema } from '@hashcheck/notification';
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

/** intake's settings in these tests (and the benchmark's, when it runs intake as a process). */
export function intakeEnv(env: Infra, iso: Isolation): Record<string, string> {
  return { ...baseEnv(env, iso, 'intake'), INTAKE_API_KEYS: `hotline:hotline:${sha256Hex(HOTLINE_KEY)},ops:admin:${sha256Hex(ADMIN_KEY)}`, PROVIDER_SECRET_KEY };
}

export async function bootIntake(env: Infra, iso: Isolation, extra: Record<string, string> = {}) {
  const config = loadConfig(IntakeConfigSchema, { ...intakeEnv(env, iso), ...extra });
  const app = await buildIntake(config, { logger: pino({ level: process.env.E2E_LOG_LEVEL ?? 'silent' }) });
  await app.ready();
  return { app, config };
}

/** The key every e2e service accepts as administrator (each service hashes it its own way). */
export const SERVICE_ADMIN_KEY = 'e2e-service-admin-key-0123456789abcdef';

const logger = () => pino({ level: process.env.E2E_LOG_LEVEL ?? 'silent' });

/** hash-check's settings in these tests (and the benchmark's, when it runs hash-check as a process). */
export function hashCheckEnv(env: Infra, iso: Isolation): Record<string, string> {
  return {
    ...baseEnv(env, iso, 'hash-check'),
    HASH_LIST_SECRET: `k1:${'e'.repeat(40)}`,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin+hotline+checker:${sha256Hex(SERVICE_ADMIN_KEY)}`,
    AUTH_CACHE_MS: '0',
  };
}

export async function bootHashCheck(env: Infra, iso: Isolation, extra: Record<string, string> = {}): Promise<App> {
  const config = loadConfig(HashCheckConfigSchema, { ...hashCheckEnv(env, iso), ...extra });
  const app = await buildHashCheck(config, { logger: logger() });
  await app.ready();
  return app;
}

/** Fast windows and retries, plain-HTTP webhooks to this machine (the test's provider receiver). */
export async function bootNotification(env: Infra, iso: Isolation, extra: Record<string, string> = {}): Promise<App> {
  const config = loadConfig(NotificationConfigSchema, {
    ...baseEnv(env, iso, 'notification'),
    PROVIDER_SECRET_KEY,
    NOTICE_WINDOW_MS: '300',
    NOTICE_POLL_MS: '50',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1/32',
    WEBHOOK_BACKOFF_BASE_MS: '100',
    WEBHOOK_BACKOFF_CAP_MS: '300',
    NOTIFICATION_API_KEYS: `ops:admin:${sha256Hex(SERVICE_ADMIN_KEY)}`,
    ...extra,
  });
  const app = await buildNotification(config, { logger: logger() });
  await app.ready();
  return app;
}

export async function bootEnforcement(env: Infra, iso: Isolation, extra: Record<string, string> = {}): Promise<App> {
  const config = loadConfig(EnforcementConfigSchema, {
    ...baseEnv(env, iso, 'enforcement'),
    ADMIN_API_KEY: SERVICE_ADMIN_KEY,
    TIMER_POLL_MS: '100',
    RETENTION_INTERVAL_MS: '0',
    ...extra,
  });
  const app = await buildEnforcement(config, { logger: logger() });
  await app.ready();
  return app;
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

/**
 * Every shared consumer group of one isolation (its topic prefix) rewound to offset 0 on every topic
 * it has read. Per-instance groups (random 12-hex suffix: providers views, hash-check's change feed)
 * read their compacted topic from the start on every boot anyway and are left alone. kafkajs resets
 * a topic through a short-lived group member (~5 s each), so groups are reset side by side.
 */
export async function rewindAll(kafka: Kafka, prefix: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix) && !/-[0-9a-f]{12}$/.test(g));
    await Promise.all(
      ours.map(async (groupId) => {
        for (const { topic } of await admin.fetchOffsets({ groupId })) await admin.resetOffsets({ groupId, topic, earliest: true });
      }),
    );
    return ours;
  } finally {
    await admin.disconnect();
  }
}

/** Waits until every consumer group of one isolation has committed up to the end of every topic it reads. */
export async function waitAllCaughtUp(kafka: Kafka, groups: string[], timeoutMs = 90_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let behind: string[] = [];
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      behind = [];
      for (const groupId of groups) {
        for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
          const ends = await admin.fetchTopicOffsets(topic);
          const at = new Map(partitions.map((p) => [p.partition, BigInt(p.offset)]));
          for (const e of ends) {
            if (BigInt(e.high) !== BigInt(e.low) && (at.get(e.partition) ?? -1n) < BigInt(e.high)) behind.push(`${groupId} ${topic}[${e.partition}] at ${at.get(e.partition)} of ${e.high}`);
          }
        }
      }
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`consumer groups not caught up: ${behind.slice(0, 10).join('; ')}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await admin.disconnect();
  }
}
