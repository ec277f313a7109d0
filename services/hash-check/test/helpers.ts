import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import type { App } from '@hashcheck/http';
import { randomName, type Infra } from '@hashcheck/testing';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp, HashCheckConfigSchema } from '@hashcheck/hash-check';

export const ADMIN_KEY = 'bootstrap-admin-key-for-tests-0123456789';
export const SECRET = `k1:${'s'.repeat(40)}`;

export interface Env {
  db: string;
  prefix: string;
}

export function freshEnv(): Env {
  return { db: randomName('hc').replace(/-/g, '_'), prefix: `${randomName('t')}.` };
}

/** A hash-check app on the real broker and database, closed after the test. */
export async function startApp(t: TestContext, infra: Infra, env: Env, extra: Record<string, string> = {}): Promise<App> {
  const config = loadConfig(HashCheckConfigSchema, {
    KAFKA_BROKERS: infra.brokers,
    MONGODB_URI: infra.mongoUri,
    MONGODB_DATABASE: env.db,
    KAFKA_TOPIC_PREFIX: env.prefix,
    OUTBOX_POLL_MS: '50',
    HASH_LIST_SECRET: SECRET,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin:${sha256Hex(ADMIN_KEY)}`,
    AUTH_CACHE_MS: '0',
    LIST_POLL_MS: '600000',
    ...extra,
  });
  const app = await buildApp(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  t.after(() => app.close());
  await app.ready();
  return app;
}

export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

export function flipBits(h: string, n: number): string {
  const b = Buffer.from(h, 'hex');
  for (let i = 0; i < n; i++) b[i] = (b[i] as number) ^ 0x01;
  return b.toString('hex');
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
export const basic = (user: string, key: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}` });
