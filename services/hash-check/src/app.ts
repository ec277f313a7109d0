import type { Logger } from 'pino';
import { createServiceApp } from '@hashcheck/runtime';
import type { App } from '@hashcheck/http';
import type { HashCheckConfig } from './config';

export const SERVICE = 'hash-check';

export interface BuildOptions {
  logger?: Logger;
}

/** Holds the hash lists in memory, answers the HashCheck APIs and matches accepted reports. */
export async function buildApp(config: HashCheckConfig, options: BuildOptions = {}): Promise<App> {
  const app = await createServiceApp({
    service: SERVICE,
    description: 'Holds the hash lists in memory, answers the HashCheck APIs and matches accepted reports.',
    config,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return app;
}

export { HashCheckConfigSchema } from './config';
export type { HashCheckConfig } from './config';
