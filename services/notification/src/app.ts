import type { Logger } from 'pino';
import { createServiceApp } from '@hashcheck/runtime';
import type { App } from '@hashcheck/http';
import type { NotificationConfig } from './config';

export const SERVICE = 'notification';

export interface BuildOptions {
  logger?: Logger;
}

/** Sends takedown notices to hosting providers with proof of delivery, and opt-in victim digests. */
export async function buildApp(config: NotificationConfig, options: BuildOptions = {}): Promise<App> {
  const app = await createServiceApp({
    service: SERVICE,
    description: 'Sends takedown notices to hosting providers with proof of delivery, and opt-in victim digests.',
    config,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return app;
}

export { NotificationConfigSchema } from './config';
export type { NotificationConfig } from './config';
