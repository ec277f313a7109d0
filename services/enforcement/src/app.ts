import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  HashesRetractionRequested,
  NoticesFailed,
  NoticesSent,
  RemovalsReported,
  ReportsMatched,
  Topics,
  type EventEnvelope,
  type HashesRetractionRequestedData,
  type NoticesFailedData,
  type NoticesSentData,
  type RemovalsReportedData,
  type ReportsMatchedData,
} from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { consumerPlugin } from '@hashcheck/kafka';
import { providersPlugin } from '@hashcheck/providers';
import { createServiceApp, groupId } from '@hashcheck/runtime';
import { enforcementSettings, type EnforcementConfig } from './config';
import { systemClock, type Clock } from './domain/clock';
import { effectsToOutbox } from './events';
import { FACT_INDEXES, MONITOR_TOPICS, MonitorProjection } from './monitor/projection';
import { MonitorQueries } from './monitor/queries';
import { monitorRoutes } from './monitor/routes';
import { enforcementMetricsPlugin, MeasuredCaseStore } from './metrics';
import { authPlugin } from './plugins/auth';
import { retentionPlugin } from './plugins/retention';
import { timersPlugin } from './plugins/timers';
import { adminRoutes } from './routes/admin';
import { noticeRoutes } from './routes/notices';
import { staffRoutes } from './routes/staff';
import { EnforcementService, type ProviderDirectory } from './service';
import { CASE_INDEXES, CASE_LOG, type CaseStore } from './store/cases';
import { KEY_INDEXES, KeyStore } from './store/keys';
import { ORDER_INDEXES, OrderStore } from './store/orders';

export const SERVICE = 'enforcement';

export interface BuildOptions {
  logger?: Logger;
  /** Where legal time comes from; tests pass a ManualClock or an AcceleratedClock. */
  clock?: Clock;
}

declare module 'fastify' {
  interface FastifyInstance {
    enforcement: {
      service: EnforcementService;
      cases: CaseStore;
      orders: OrderStore;
      keys: KeyStore;
      monitor: MonitorQueries;
      projection: MonitorProjection;
    };
  }
}

/** Runs the legal clock per notice, escalates, keeps the evidence file and serves the monitor. */
export async function buildApp(config: EnforcementConfig, options: BuildOptions = {}): Promise<App> {
  // Bad ladder or policy configuration stops the service before it connects to anything.
  const settings = enforcementSettings(config);
  const app = await createServiceApp({
    service: SERVICE,
    description: 'Runs the legal clock per notice, escalates, keeps the evidence file and serves the monitor.',
    config,
    indexes: [...CASE_INDEXES, ORDER_INDEXES, KEY_INDEXES, FACT_INDEXES],
    outboxCollections: [CASE_LOG],
    ...(options.logger ? { logger: options.logger } : {}),
  });
  if (!config.ADMIN_API_KEY) app.log.warn('ADMIN_API_KEY is not set: no API keys can be issued, so the HTTP API refuses every request');

  await app.register(providersPlugin, { service: SERVICE });
  const clock = options.clock ?? systemClock;
  const db = app.mongo.db;
  const cases = new MeasuredCaseStore(db, effectsToOutbox, (hint) => app.outbox.notify(hint));
  const orders = new OrderStore(db);
  const keys = new KeyStore(db);
  const providers: ProviderDirectory = { get: (id) => app.providers.get(id) };
  const service = new EnforcementService({
    cases, orders, clock, settings, providers,
    logger: app.log.child({ component: 'enforcement' }),
    instanceId: config.INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    leaseMs: config.TIMER_LEASE_MS,
    batch: config.TIMER_BATCH,
  });
  const projection = new MonitorProjection(db);
  const monitor = new MonitorQueries(db, providers);
  app.decorate('enforcement', { service, cases, orders, keys, monitor, projection });

  await app.register(consumerPlugin, {
    name: 'cases',
    groupId: groupId(config, SERVICE, 'cases'),
    topics: [Topics.reportsMatched, Topics.noticesSent, Topics.noticesFailed, Topics.removalsReported, Topics.hashesRetractionRequested],
    handler: async (event: EventEnvelope) => {
      if (event.type === ReportsMatched.type) await service.handleReportMatched(event as EventEnvelope<ReportsMatchedData>);
      else if (event.type === NoticesSent.type) await service.handleNoticeSent(event as EventEnvelope<NoticesSentData>);
      else if (event.type === NoticesFailed.type) await service.handleNoticeFailed(event as EventEnvelope<NoticesFailedData>);
      else if (event.type === RemovalsReported.type) await service.handleRemovalReported(event as EventEnvelope<RemovalsReportedData>);
      else if (event.type === HashesRetractionRequested.type) await service.handleRetractionRequested(event as EventEnvelope<HashesRetractionRequestedData>);
    },
  });
  await app.register(consumerPlugin, {
    name: 'monitor',
    groupId: groupId(config, SERVICE, 'monitor'),
    topics: MONITOR_TOPICS,
    handler: async (event: EventEnvelope) => {
      await projection.apply(event);
    },
  });
  await app.register(timersPlugin, { service, intervalMs: config.TIMER_POLL_MS });
  await app.register(enforcementMetricsPlugin, { cases, clock, refreshMs: config.METRICS_REFRESH_MS });
  await app.register(retentionPlugin, { service, intervalMs: config.RETENTION_INTERVAL_MS });

  await app.register(authPlugin, { keys, ...(config.ADMIN_API_KEY ? { adminKey: config.ADMIN_API_KEY } : {}) });
  await app.register(noticeRoutes, { service });
  await app.register(staffRoutes, { service, orders });
  await app.register(adminRoutes, { service, keys });
  await app.register(monitorRoutes, { queries: monitor, clock });
  return app;
}

export { EnforcementConfigSchema, enforcementSettings } from './config';
export type { EnforcementConfig } from './config';
export { ManualClock, AcceleratedClock, systemClock, type Clock } from './domain/clock';
export { EnforcementService } from './service';
export { CaseStatus, Outcome, type CaseState } from './domain/case';
