import type { Logger } from 'pino';
import { createServiceApp } from '@hashcheck/runtime';
import type { App } from '@hashcheck/http';
import type { IntakeConfig } from './config';

export const SERVICE = 'intake';

export interface BuildOptions {
  logger?: Logger;
}

/** Validates, normalises, de-duplicates and stores reports from partners (Kafka) and the hotline (HTTP). */
export async function buildApp(config: IntakeConfig, options: BuildOptions = {}): Promise<App> {
  const app = await createServiceApp({
    service: SERVICE,
    description: 'Validates, normalises, de-duplicates and stores reports from partners (Kafka) and the hotline (HTTP).',
    config,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return app;
}

export { IntakeConfigSchema } from './config';
export type { IntakeConfig } from './config';
