/**
 * Preload: `node --import tsx --import @hashcheck/telemetry/register main.ts`. The SDK must patch
 * kafkajs, mongodb and pino before the service imports them, which a static import in main.ts
 * cannot guarantee (ESM hoists imports).
 */
import { memoiseDependencyResolution } from './resolve-memo';
import { shutdownTelemetry, startTelemetry } from './sdk';

// Only where the SDK (and with it the instrumentations' require hook) runs.
if (startTelemetry()) memoiseDependencyResolution();
process.once('beforeExit', () => void shutdownTelemetry());
