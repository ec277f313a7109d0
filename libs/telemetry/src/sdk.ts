import { register } from 'node:module';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { commandShape } from './statement';

let sdk: NodeSDK | undefined;

export interface TelemetryOptions {
  /** Tests pass an in-memory exporter's processor; otherwise exporters come from OTEL_* variables. */
  spanProcessors?: SpanProcessor[];
}

/**
 * Starts the OpenTelemetry SDK, configured by the standard OTEL_* variables only (exporter,
 * endpoint, service name, sampler). Instrumentations: kafkajs (produce/consume spans and header
 * propagation), MongoDB, pino (trace_id/span_id in log lines) and fastify (@fastify/otel).
 */
export function startTelemetry(options: TelemetryOptions = {}): NodeSDK | undefined {
  if (sdk) return sdk;
  if (process.env.OTEL_SDK_DISABLED === 'true') return undefined;
  // import-in-the-middle lets the instrumentations patch modules loaded through `import`; it only
  // sees modules loaded after this call.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  applyExportDefaults(process.env);
  sdk = new NodeSDK({
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    instrumentations: [
      new KafkaJsInstrumentation(),
      new MongoDBInstrumentation({ enhancedDatabaseReporting: false, dbStatementSerializer: commandShape }),
      // Log correlation (trace_id/span_id) always; log records copied into the OTel logs pipeline
      // only when a logs exporter is configured: otherwise every line would be re-parsed for nothing.
      new PinoInstrumentation({ disableLogSending: logsExportDisabled() }),
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
    ],
  });
  sdk.start();
  return sdk;
}

/**
 * The batch span processor's limits, where the operator has not set them. With the SDK's defaults
 * (a queue of 2,048 spans, batches of 512, every 5 s) a burst of the pipeline (~900 reports/s, a
 * dozen spans a report: 11 counted in session 7, two more then from the benchmark's receivers)
 * overflowed the queue: 5,397 of ~106,000 spans were dropped in one benchmark run,
 * silently, leaving reports with holes in their traces. With these, none were dropped in the same
 * run (the queue holds at most ~16,000 spans; its memory was not measured). `OTEL_LOG_LEVEL=warn` makes the
 * SDK say so when it drops spans or an export fails, instead of saying nothing.
 */
export function applyExportDefaults(env: NodeJS.ProcessEnv): void {
  env.OTEL_BSP_MAX_QUEUE_SIZE ??= '16384';
  env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ??= '2048';
  env.OTEL_BSP_SCHEDULE_DELAY ??= '1000';
  env.OTEL_LOG_LEVEL ??= 'warn';
}

function logsExportDisabled(): boolean {
  return (process.env.OTEL_LOGS_EXPORTER ?? '').split(',').map((e) => e.trim()).includes('none');
}

export async function shutdownTelemetry(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  await s?.shutdown().catch(() => undefined);
}
