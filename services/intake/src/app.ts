import type { Logger } from 'pino';
import { Topics } from '@hashcheck/events';
import type { App } from '@hashcheck/http';
import { consumerPlugin } from '@hashcheck/kafka';
import { createConsumerOutbox, OUTBOX_PUBLISHED_INDEXES } from '@hashcheck/mongo';
import { parseSecretKeys, providersPlugin } from '@hashcheck/providers';
import { createServiceApp, groupId } from '@hashcheck/runtime';
import type { IntakeConfig } from './config';
import { ApiKeyAuth } from './auth';
import { parseApiKeys } from './domain/api-keys';
import { pipelineStatusHandler, PIPELINE_STATUS_TOPICS } from './consumers/pipeline-status';
import { submittedHandler, submittedInvalidHandler } from './consumers/submitted';
import { Ingest } from './ingest';
import { providerRoutes } from './routes/providers';
import { reportRoutes } from './routes/reports';
import { PROVIDER_INDEXES, ProviderStore } from './store/providers';
import { Collections, REPORT_INDEXES, ReportStore } from './store/reports';

export const SERVICE = 'intake';

export interface BuildOptions {
  logger?: Logger;
}

declare module 'fastify' {
  interface FastifyInstance {
    intake: { reports: ReportStore; providers: ProviderStore; ingest: Ingest; auth: ApiKeyAuth };
  }
}

/** Validates, normalises, de-duplicates and stores reports from partners (Kafka) and the hotline (HTTP); owns the provider registry. */
export async function buildApp(config: IntakeConfig, options: BuildOptions = {}): Promise<App> {
  // Bad key configuration stops the service before it connects to anything.
  const apiKeys = parseApiKeys(config.INTAKE_API_KEYS);
  const secretKeys = config.PROVIDER_SECRET_KEY ? parseSecretKeys(config.PROVIDER_SECRET_KEY) : undefined;

  const app = await createServiceApp({
    service: SERVICE,
    description: 'Validates, normalises, de-duplicates and stores reports from partners (Kafka) and the hotline (HTTP); owns the provider registry.',
    config,
    indexes: [...REPORT_INDEXES, ...PROVIDER_INDEXES, OUTBOX_PUBLISHED_INDEXES],
    outboxCollections: [Collections.REPORTS, Collections.REJECTIONS, Collections.PROVIDERS],
    markedCollections: [Collections.REPORTS],
    ...(options.logger ? { logger: options.logger } : {}),
  });
  if (apiKeys.length === 0) app.log.warn('INTAKE_API_KEYS is empty: the HTTP report and provider APIs refuse every request');

  await app.register(providersPlugin, { service: SERVICE });
  // Reports from Kafka are published by their consumer handler (no mark: see ConsumerOutbox).
  const consumerOutbox = createConsumerOutbox(app, Topics.reportsSubmitted);
  const reports = new ReportStore(app.mongo.db, consumerOutbox);
  const ingest = new Ingest(reports, app.providers, (hint) => app.outbox.notify(hint), consumerOutbox);
  app.decorate('intake', { reports, providers: new ProviderStore(app.mongo.db, secretKeys?.[0]), ingest, auth: new ApiKeyAuth(apiKeys) });

  const submittedGroup = groupId(config, SERVICE, 'submitted');
  await app.register(consumerPlugin, {
    name: 'reports-submitted',
    groupId: submittedGroup,
    topics: [Topics.reportsSubmitted],
    handler: submittedHandler(ingest),
    onInvalid: submittedInvalidHandler(ingest, { producer: app.kafka.producer, ledger: app.mongo.db.collection(Collections.DEAD_LETTERS), groupId: submittedGroup }),
    partitionsConsumedConcurrently: config.INTAKE_CONSUMER_CONCURRENCY,
    batchConcurrency: config.INTAKE_BATCH_CONCURRENCY,
  });
  await app.register(consumerPlugin, {
    name: 'pipeline-status',
    groupId: groupId(config, SERVICE, 'pipeline-status'),
    topics: PIPELINE_STATUS_TOPICS,
    handler: pipelineStatusHandler(reports, (hint) => app.outbox.notify(hint), app.log),
    partitionsConsumedConcurrently: config.INTAKE_CONSUMER_CONCURRENCY,
    batchConcurrency: config.INTAKE_BATCH_CONCURRENCY,
  });

  await app.register(reportRoutes, { maxBatch: config.INTAKE_MAX_BATCH });
  await app.register(providerRoutes);
  return app;
}

export { IntakeConfigSchema } from './config';
export type { IntakeConfig } from './config';
