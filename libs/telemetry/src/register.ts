/**
 * Preload: `node --import tsx --import @hashcheck/telemetry/register main.ts`. The SDK must patch
 * kafkajs, mongodb and pino before the service imports them, which a static import in main.ts
 * cannot guarantee (ESM hoists imports).
 */
import { register } from 'node:module';
import { shutdownTelemetry, startTelemetry } from './sdk';

// import-in-the-middle lets instrumentations patch modules that are loaded through `import`.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
startTelemetry();
process.once('beforeExit', () => void shutdownTelemetry());
