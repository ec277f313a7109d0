/**
 * The whole system in one process, for the hostile-input and authorisation suites: the four services
 * built with their own `buildApp` against the real stack, under one random topic prefix and one
 * database per service, every log line captured in memory (through the services' own redacting
 * logger), and a key for every role each service knows.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { MongoClient } from 'mongodb';
import { loadConfig } from '@hashcheck/config';
import { buildApp as buildEnforcement, EnforcementConfigSchema } from '@hashcheck/enforcement';
import { buildApp as buildHashCheck, HashCheckConfigSchema } from '@hashcheck/hash-check';
import type { App } from '@hashcheck/http';
import { buildApp as buildIntake, IntakeConfigSchema } from '@hashcheck/intake';
import { createLogger } from '@hashcheck/logging';
import { buildApp as buildNotification, NotificationConfigSchema } from '@hashcheck/notification';
import { randomName, type Infra } from '@hashcheck/testing';

export const SERVICES = ['intake', 'hash-check', 'notification', 'enforcement'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Authorization header values per role, per service; `none` sends no header. */
export type Credentials = Record<string, string>;

export interface System {
  prefix: string;
  databases: Record<ServiceName, string>;
  apps: Record<ServiceName, App>;
  /** Role name -> Authorization header, per service. */
  roles: Record<ServiceName, Credentials>;
  /** Every secret configured or issued in this run: no log line may contain any of them. */
  secrets: string[];
  /** Every log line every service wrote so far (JSON text). */
  logLines: string[];
  mongo: MongoClient;
  /** Enforcement keys issued through the API, by role; revocable by id. */
  enforcementKeyIds: Record<string, string>;
}

class MemoryLog extends Writable {
  constructor(private readonly lines: string[]) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    done();
  }
}

const bearer = (key: string): string => `Bearer ${key}`;
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export async function bootSystem(t: TestContext, env: Infra, options: { logLevel?: string } = {}): Promise<System> {
  const prefix = `${randomName('hostile')}.`;
  const base = randomName('hst').replace(/-/g, '_');
  const databases = Object.fromEntries(SERVICES.map((s) => [s, `${base}_${s.replace(/-/g, '_')}`])) as Record<ServiceName, string>;
  const logLines: string[] = [];
  const logger = (service: string) => createLogger({ service, level: options.logLevel ?? 'debug', pretty: false, destination: new MemoryLog(logLines) });
  const common = (service: ServiceName): Record<string, string> => ({
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: databases[service],
    KAFKA_TOPIC_PREFIX: prefix,
    OUTBOX_POLL_MS: '100',
    LOG_LEVEL: options.logLevel ?? 'debug',
  });

  const secret = (label: string): string => `${label}-${randomBytes(18).toString('hex')}`;
  const intakeHotline = secret('intake-hotline');
  const intakeAdmin = secret('intake-admin');
  const notifOfficer = secret('notif-officer');
  const notifAdmin = secret('notif-admin');
  const enfAdmin = secret('enforcement-admin');
  const providerSecretKey = randomBytes(32).toString('hex');
  const hashListSecret = randomBytes(24).toString('hex');
  const hcAdmin = secret('hc-admin');
  const hcChecker = secret('hc-checker');
  const hcHotline = secret('hc-hotline');

  const apps = {} as Record<ServiceName, App>;
  const mongo = new MongoClient(env.mongoUri, { retryWrites: false });
  await mongo.connect();
  t.after(async () => {
    await Promise.allSettled(Object.values(apps).map((a) => a.close()));
    for (const db of Object.values(databases)) await mongo.db(db).dropDatabase().catch(() => undefined);
    await mongo.close();
  });

  apps.intake = await buildIntake(
    loadConfig(IntakeConfigSchema, {
      ...common('intake'),
      INTAKE_API_KEYS: `hotline:hotline:${sha256(intakeHotline)},ops:admin:${sha256(intakeAdmin)}`,
      PROVIDER_SECRET_KEY: `k1:${providerSecretKey}`,
    }),
    { logger: logger('intake') },
  );
  // hash-check is still landing: give it what its config schema asks for, when it asks.
  const hcProps = (HashCheckConfigSchema as unknown as { properties: Record<string, unknown> }).properties;
  const hcVars: Record<string, string> = {};
  if ('HASH_LIST_SECRET' in hcProps) hcVars.HASH_LIST_SECRET = `k1:${hashListSecret}`;
  if ('HASH_CHECK_BOOTSTRAP_KEYS' in hcProps) {
    hcVars.HASH_CHECK_BOOTSTRAP_KEYS = `hc-admin:admin:${sha256(hcAdmin)},hc-checker:checker:${sha256(hcChecker)},hc-hotline:hotline:${sha256(hcHotline)}`;
  }
  apps['hash-check'] = await buildHashCheck(loadConfig(HashCheckConfigSchema, { ...common('hash-check'), ...hcVars }), { logger: logger('hash-check') });
  apps.notification = await buildNotification(
    loadConfig(NotificationConfigSchema, {
      ...common('notification'),
      NOTIFICATION_API_KEYS: `officer-1:case-officer:${sha256(notifOfficer)},ops:admin:${sha256(notifAdmin)}`,
      PROVIDER_SECRET_KEY: `k1:${providerSecretKey}`,
      NOTICE_POLL_MS: '200',
    }),
    { logger: logger('notification') },
  );
  apps.enforcement = await buildEnforcement(
    loadConfig(EnforcementConfigSchema, { ...common('enforcement'), ADMIN_API_KEY: enfAdmin, RETENTION_INTERVAL_MS: '0', TIMER_POLL_MS: '200' }),
    { logger: logger('enforcement') },
  );
  await Promise.all(Object.values(apps).map((a) => a.ready()));

  // Enforcement keys are issued at run time by its administrator; only their hashes are stored.
  const enforcementKeyIds: Record<string, string> = {};
  const enforcementRoles: Credentials = { admin: bearer(enfAdmin) };
  for (const [role, body] of [
    ['provider', { scope: 'provider', providerId: 'hostile-hosting', label: 'provider contact' }],
    ['hotline', { scope: 'hotline', label: 'analyst-1' }],
    ['regulator', { scope: 'regulator', label: 'officer-7' }],
  ] as const) {
    const res = await apps.enforcement.inject({ method: 'POST', url: '/v1/admin/keys', headers: { authorization: bearer(enfAdmin) }, payload: body });
    if (res.statusCode !== 201) throw new Error(`could not issue an enforcement ${role} key: ${res.statusCode} ${res.body}`);
    const issued = res.json<{ keyId: string; key: string }>();
    enforcementRoles[role] = bearer(issued.key);
    enforcementKeyIds[role] = issued.keyId;
  }

  const roles: Record<ServiceName, Credentials> = {
    intake: { hotline: bearer(intakeHotline), admin: bearer(intakeAdmin) },
    // Bearer with the key; the EOKM routes take Basic (tenant:key), added per route by the suites.
    'hash-check': 'HASH_CHECK_BOOTSTRAP_KEYS' in hcProps ? { admin: bearer(hcAdmin), checker: bearer(hcChecker), hotline: bearer(hcHotline) } : {},
    notification: { 'case-officer': bearer(notifOfficer), admin: bearer(notifAdmin) },
    enforcement: enforcementRoles,
  };
  const secrets = [intakeHotline, intakeAdmin, notifOfficer, notifAdmin, enfAdmin, providerSecretKey, hashListSecret, hcAdmin, hcChecker, hcHotline, ...Object.values(enforcementRoles).map((h) => h.slice('Bearer '.length))];
  return { prefix, databases, apps, roles, secrets, logLines, mongo, enforcementKeyIds };
}

export interface RouteInfo {
  method: string;
  /** OpenAPI template, e.g. /v1/reports/{id}. */
  path: string;
  secured: boolean;
  /** Secured by HTTP Basic only (the EOKM-compatible check): a bearer key does not get past it. */
  basicOnly: boolean;
  hasBody: boolean;
  bodySchema?: Schema;
  params: string[];
  query: Array<{ name: string; schema: Schema; required: boolean }>;
}

export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  required?: string[];
  [k: string]: unknown;
}

/** Every documented route of an app, read from its own /openapi.json. */
export async function routesOf(app: App): Promise<RouteInfo[]> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`/openapi.json answered ${res.statusCode}`);
  const doc = res.json<{ paths?: Record<string, Record<string, { security?: unknown[]; requestBody?: { content?: Record<string, { schema?: Schema }> }; parameters?: Array<{ in: string; name: string; required?: boolean; schema?: Schema }> }>> }>();
  const out: RouteInfo[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      const route: RouteInfo = {
        method: method.toUpperCase(),
        path,
        secured: Array.isArray(op.security) && op.security.length > 0,
        basicOnly: Array.isArray(op.security) && op.security.length > 0 && op.security.every((r) => typeof r === 'object' && r !== null && Object.keys(r).every((k) => k === 'basic')),
        hasBody: op.requestBody !== undefined,
        params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {}, required: p.required === true })),
      };
      if (bodySchema) route.bodySchema = bodySchema;
      out.push(route);
    }
  }
  return out;
}

/** A concrete URL for a route template, each path parameter replaced by `value` (already encoded). */
export function urlOf(route: RouteInfo, value: (param: string) => string = () => 'does-not-exist-1'): string {
  return route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => value(name));
}
