import type { Logger } from 'pino';
import { Topics } from '@hashcheck/events';
import { ChunkCipher } from '@hashcheck/hash-index';
import type { App } from '@hashcheck/http';
import { consumerPlugin } from '@hashcheck/kafka';
import { createConsumerOutbox, OUTBOX_PUBLISHED_INDEXES } from '@hashcheck/mongo';
import { createServiceApp, groupId } from '@hashcheck/runtime';
import { randomBytes } from 'node:crypto';
import type { HashCheckConfig } from './config';
import { changesHandler, reportsHandler, retractionsHandler } from './consumers/handlers';
import { parseBootstrapKeys, parseListSecrets } from './domain/api-keys';
import { ListEngine } from './engine/list-engine';
import { PROBING_INDEXES, ProbingMonitor } from './engine/probing-monitor';
import { hashCheckMetricsPlugin, MeasuredReportCheckStore } from './metrics';
import { authPlugin } from './plugins/auth';
import { checkRoutes } from './routes/check';
import { listRoutes } from './routes/lists';
import { retractionRoutes } from './routes/retractions';
import { tenantRoutes } from './routes/tenants';
import { Collections } from './store/collections';
import { LIST_INDEXES, ListStore } from './store/lists';
import { REPORT_INDEXES, type ReportCheckStore } from './store/reports';
import { RETRACTION_INDEXES, RetractionStore } from './store/retractions';
import { TENANT_INDEXES, TenantStore } from './store/tenants';

export const SERVICE = 'hash-check';

export interface BuildOptions {
  logger?: Logger;
  /** Identifies this instance's own consumer group on the change topic (default: random). */
  instanceId?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    hashCheck: { engine: ListEngine; lists: ListStore; tenants: TenantStore; checks: ReportCheckStore; retractions: RetractionStore };
  }
}

/** Holds the hash lists in memory, answers the HashCheck APIs and matches accepted reports. */
export async function buildApp(config: HashCheckConfig, options: BuildOptions = {}): Promise<App> {
  // Bad secrets or keys stop the service before it connects to anything.
  const cipher = new ChunkCipher(parseListSecrets(config.HASH_LIST_SECRET));
  const bootstrap = parseBootstrapKeys(config.HASH_CHECK_BOOTSTRAP_KEYS);

  const app = await createServiceApp({
    service: SERVICE,
    description: 'Holds the hash lists in memory, answers the HashCheck APIs (bulk and EOKM-compatible check, list and tenant management) and matches accepted reports.',
    config,
    indexes: [...LIST_INDEXES, ...TENANT_INDEXES, ...REPORT_INDEXES, ...RETRACTION_INDEXES, ...PROBING_INDEXES, OUTBOX_PUBLISHED_INDEXES],
    outboxCollections: [Collections.LISTS, Collections.REPORT_CHECKS],
    markedCollections: [Collections.REPORT_CHECKS],
    ...(options.logger ? { logger: options.logger } : {}),
  });

  const lists = new ListStore(app.mongo.db, cipher);
  const tenants = new TenantStore(app.mongo.db, config.AUTH_CACHE_MS);
  const checks = new MeasuredReportCheckStore(app.mongo.db);
  const retractions = new RetractionStore(app.mongo.db);
  const engine = new ListEngine(lists, app.log);
  const probing = new ProbingMonitor(app.mongo.db, app.log, (id) => engine.thresholdOf(id), config.PROBING_MAX_PER_REQUEST, {
    windowMs: config.PROBING_WINDOW_MS,
    sweepMinQueries: config.PROBING_SWEEP_MIN_QUERIES,
    nearDistance: config.PROBING_NEAR_DISTANCE,
    boundaryMinMatches: config.PROBING_BOUNDARY_MIN_MATCHES,
    cooldownMs: config.PROBING_WINDOW_MS,
  });
  app.decorate('hashCheck', { engine, lists, tenants, checks, retractions });
  app.readiness.add('hash-index', () => (engine.isReady ? { ok: true } : { ok: false, error: 'hash lists loading' }));

  // Load before the consumers start (they start on ready): an instance answers only with its lists loaded.
  await engine.loadAll();

  const timers: NodeJS.Timeout[] = [];
  app.addHook('onReady', async () => {
    const every = (ms: number, what: string, fn: () => Promise<unknown> | unknown): void => {
      let busy = false;
      const t = setInterval(() => {
        if (busy) return;
        busy = true;
        Promise.resolve()
          .then(fn)
          .catch((err: unknown) => app.log.error({ err }, `${what} failed; will retry`))
          .finally(() => {
            busy = false;
          });
      }, ms);
      t.unref();
      timers.push(t);
    };
    every(config.LIST_POLL_MS, 'list poll', () => engine.syncChanged());
    every(config.COMPACT_CHECK_MS, 'index compaction', () => engine.compactIfNeeded());
    every(1000, 'usage counters', () => tenants.flushUsage());
    if (config.RESEAL_INTERVAL_MS > 0) {
      every(config.RESEAL_INTERVAL_MS, 'chunk re-encryption', async () => {
        const n = await lists.resealOld();
        if (n > 0) app.log.info({ resealed: n, keyId: cipher.currentKeyId }, 'chunks re-encrypted with the current key');
      });
    }
  });
  // preClose: before the database client closes (onClose order follows registration).
  app.addHook('onClose', async () => {
    await engine.close();
  });
  app.addHook('preClose', async () => {
    await probing.flush();
  });
  app.addHook('preClose', async () => {
    for (const t of timers) clearInterval(t);
    await tenants.flushUsage().catch((err: unknown) => app.log.error({ err }, 'usage counters not written on close'));
  });

  // A list's change event is queued in the list's own document: the relay reads just that one
  // (without a hint it would read every list and every report check).
  const notify = (listId: string): void => app.outbox.notify({ collection: Collections.LISTS, id: listId });
  const instanceId = options.instanceId ?? randomBytes(6).toString('hex');
  // Every instance reads the whole change topic: its own group.
  await app.register(consumerPlugin, { name: 'hashes-changes', groupId: groupId(config, SERVICE, `changes-${instanceId}`), topics: [Topics.hashesChanges], handler: changesHandler(engine) });
  await app.register(consumerPlugin, { name: 'reports-accepted', groupId: groupId(config, SERVICE, 'reports'), topics: [Topics.reportsAccepted], handler: reportsHandler(engine, checks, tenants, createConsumerOutbox(app, Topics.reportsAccepted)), partitionsConsumedConcurrently: config.REPORTS_PARTITION_CONCURRENCY, batchConcurrency: config.REPORTS_BATCH_CONCURRENCY });
  await app.register(consumerPlugin, { name: 'retraction-requests', groupId: groupId(config, SERVICE, 'retractions'), topics: [Topics.hashesRetractionRequested], handler: retractionsHandler(retractions) });

  await app.register(hashCheckMetricsPlugin, { engine });
  await app.register(authPlugin, { tenants, bootstrap, defaultRateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE });
  await app.register(checkRoutes, { engine, tenants, probing, maxItems: config.CHECK_MAX_ITEMS, bodyLimit: config.CHECK_BODY_LIMIT_BYTES });
  await app.register(listRoutes, { store: lists, engine, chunkSize: config.IMPORT_CHUNK_SIZE, maxImportBytes: config.IMPORT_MAX_BYTES, maxChangeItems: config.CHECK_MAX_ITEMS, notify });
  await app.register(tenantRoutes, { tenants, engine, probing });
  await app.register(retractionRoutes, { retractions, store: lists, engine, checks, chunkSize: config.IMPORT_CHUNK_SIZE, notify });
  return app;
}

export { HashCheckConfigSchema } from './config';
export type { HashCheckConfig } from './config';
export { generateApiKey } from './domain/api-keys';
