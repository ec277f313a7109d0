import type { Logger } from 'pino';
import { HttpSettings, KafkaSettings, MongoSettings, Type, type Static } from '@hashcheck/config';
import { registry, EventCodec } from '@hashcheck/events';
import { createApp, type App } from '@hashcheck/http';
import { kafkaPlugin, kafkaSettingsFromConfig } from '@hashcheck/kafka';
import { createLogger } from '@hashcheck/logging';
import { mongoPlugin, OUTBOX_PENDING_INDEXES, outboxRelayPlugin, type CollectionIndexes } from '@hashcheck/mongo';

/** Settings every service has; a service's own schema spreads these in. */
export const ServiceSettings = {
  ...KafkaSettings,
  ...MongoSettings,
  ...HttpSettings,
  MONGODB_DATABASE: Type.Optional(Type.String({ minLength: 1, maxLength: 60, pattern: '^[A-Za-z0-9_-]+$' })),
  OUTBOX_POLL_MS: Type.Integer({ minimum: 10, default: 500 }),
};
export const ServiceSettingsSchema = Type.Object(ServiceSettings);
export type ServiceConfig = Static<typeof ServiceSettingsSchema>;

export interface ServiceAppOptions {
  service: string;
  description: string;
  config: ServiceConfig;
  /** Collections and their indexes, created before the app reports ready. */
  indexes?: CollectionIndexes[];
  /** Collections whose documents carry an embedded outbox. */
  outboxCollections?: string[];
  /**
   * Those of outboxCollections whose writers record entries in `events` and mark them pending
   * (PendingMarks); their marks' index is added to `indexes`.
   */
  markedCollections?: string[];
  logger?: Logger;
}

/** One codec for the whole system, over the one registry of event types. */
export const codec = new EventCodec(registry);

/** Consumer group ids are per service (and per topic prefix, so tests can run side by side). */
export function groupId(config: Pick<ServiceConfig, 'KAFKA_TOPIC_PREFIX'>, service: string, purpose: string): string {
  return `${config.KAFKA_TOPIC_PREFIX}hashcheck-${service}-${purpose}`;
}

/**
 * The shared part of every service: logger, HTTP app with health and errors, MongoDB (own
 * database), Kafka producer, topics and the outbox relay. The service then adds its consumers
 * and routes.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<App> {
  const { config, service } = options;
  const logger = options.logger ?? createLogger({ service, level: config.LOG_LEVEL });
  const app = await createApp({ service, description: options.description, logger, bodyLimit: config.BODY_LIMIT_BYTES });
  const uri = databaseUri(config.MONGODB_URI, config.MONGODB_DATABASE ?? `hashcheck_${service.replace(/-/g, '_')}`);
  const marked = options.markedCollections ?? [];
  const indexes = [...(options.indexes ?? []), ...(marked.length > 0 ? [OUTBOX_PENDING_INDEXES] : [])];
  await app.register(mongoPlugin, { uri, appName: `hashcheck-${service}`, indexes });
  await app.register(kafkaPlugin, {
    settings: kafkaSettingsFromConfig(config, `hashcheck-${service}`),
    codec,
    prefix: config.KAFKA_TOPIC_PREFIX,
    topics: registry.topics(),
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
  });
  if (options.outboxCollections && options.outboxCollections.length > 0) {
    await app.register(outboxRelayPlugin, { collections: options.outboxCollections, marked, intervalMs: config.OUTBOX_POLL_MS });
  }
  return app;
}

/**
 * The database name lives in the URI path; each service has its own database. Not `new URL()`:
 * a replica set's standard connection string lists several hosts
 * (`mongodb://a:27017,b:27017/?replicaSet=rs0`), which WHATWG URL parsing rejects.
 */
export function databaseUri(uri: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!m) throw new TypeError('MONGODB_URI must start with mongodb:// or mongodb+srv://');
  return `${m[1]}/${dbName}${m[2] ?? ''}`;
}

/** For `main.ts`: listen, then close everything in dependency order on SIGINT/SIGTERM. */
export async function runService(app: App, config: Pick<ServiceConfig, 'HOST' | 'PORT'>): Promise<void> {
  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 15 s; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    try {
      await app.close();
      // Loaded lazily: only a process started with the telemetry preload has anything to flush.
      const { shutdownTelemetry } = await import('@hashcheck/telemetry/sdk');
      await shutdownTelemetry();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  app.log.info({ address }, 'listening');
}

/** main.ts helper: a boot failure (bad config, unreachable broker or database) exits non-zero with a plain message. */
export async function boot(service: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`${service}: failed to start: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
    process.exit(1);
  }
}
