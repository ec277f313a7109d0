import type { Logger } from 'pino';
import { createServiceApp } from '@hashcheck/runtime';
import type { App } from '@hashcheck/http';
import type { EnforcementConfig } from './config';

export const SERVICE = 'enforcement';

export interface BuildOptions {
  logger?: Logger;
}

/** Runs the legal clock per notice, escalates, keeps the evidence file and serves the monitor. */
export async function buildApp(config: EnforcementConfig, options: BuildOptions = {}): Promise<App> {
  const app = await createServiceApp({
    service: SERVICE,
    description: 'Runs the legal clock per notice, escalates, keeps the evidence file and serves the monitor.',
    config,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return app;
}

export { EnforcementConfigSchema } from './config';
export type { EnforcementConfig } from './config';
