import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { Topics } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { randomName, TopicRecorder, waitFor, type Infra } from '@hashcheck/testing';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp, NotificationConfigSchema, type BuildOptions } from '@hashcheck/notification';
import { SECRET_KEY_HEX } from './helpers';

export const OFFICER_KEY = 'officer-key-0123456789';
export const ADMIN_KEY = 'admin-key-0123456789';

/** Millisecond-scale windows and backoffs so the tests run the real loops quickly. */
export const FAST: Record<string, string> = {
  NOTICE_WINDOW_MS: '1000',
  NOTICE_POLL_MS: '50',
  VICTIM_DIGEST_POLL_MS: '50',
  NOTICE_LEASE_MS: '10000',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_MAX_ATTEMPTS: '3',
  WEBHOOK_BACKOFF_BASE_MS: '100',
  WEBHOOK_BACKOFF_CAP_MS: '300',
  EMAIL_MAX_ATTEMPTS: '2',
  EMAIL_BACKOFF_BASE_MS: '100',
  EMAIL_BACKOFF_CAP_MS: '200',
  SMTP_TIMEOUT_MS: '2000',
  SMTP_REQUIRE_TLS: 'false',
  WEBHOOK_ALLOW_HTTP: 'true',
  PROVIDER_LOOKUP_ATTEMPTS: '2',
  PROVIDER_LOOKUP_MIN_MS: '0',
  OUTBOX_POLL_MS: '50',
  PROVIDER_SECRET_KEY: `k1:${SECRET_KEY_HEX}`,
  NOTIFICATION_API_KEYS: `officer-1:case-officer:${sha256Hex(OFFICER_KEY)},ops:admin:${sha256Hex(ADMIN_KEY)}`,
};

export interface Harness {
  app: App;
  prefix: string;
  database: string;
  recorder: TopicRecorder;
  sent: () => Array<{ id: string; data: Record<string, unknown> & { noticeId: string; providerId: string } }>;
  failed: () => Array<{ id: string; data: Record<string, unknown> & { noticeId: string; providerId: string; channel: string; reason: string; final: boolean; undeliverable?: boolean } }>;
}

export async function bootNotification(t: TestContext, env: Infra, vars: Record<string, string>, options: BuildOptions & { prefix?: string; database?: string } = {}): Promise<Harness> {
  const prefix = options.prefix ?? `${randomName('t')}.`;
  const database = options.database ?? randomName('db').replace(/-/g, '_');
  const config = loadConfig(NotificationConfigSchema, {
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: database,
    KAFKA_TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    ...vars,
  });
  const { prefix: _p, database: _d, ...buildOptions } = options;
  const app = await buildApp(config, { logger: pino({ level: process.env.HC_TEST_LOG ?? 'silent' }), ...buildOptions });
  await app.ready();
  const recorder = await new TopicRecorder(env.brokers).start([prefix + Topics.noticesSent, prefix + Topics.noticesFailed]);
  t.after(async () => {
    await recorder.stop();
  });
  return {
    app,
    prefix,
    database,
    recorder,
    sent: () => recorder.on(prefix + Topics.noticesSent).map((m) => m.json()),
    failed: () => recorder.on(prefix + Topics.noticesFailed).map((m) => m.json()),
  };
}

/** Publishes providers and waits until the service's registry view has them. */
export async function publishProviders(h: Harness, events: Array<{ data: { id: string } }>): Promise<void> {
  await h.app.kafka.producer.publish(Topics.providers, events as never);
  await waitFor(() => events.every((e) => h.app.providers.get(e.data.id) !== undefined), { timeoutMs: 30_000, what: 'providers in the registry view' });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
