import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths that must never reach a log line: credentials, keys, signing secrets. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'password',
  'secret',
  'apiKey',
  'key',
  'token',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.token',
  '*.signingSecret',
  'config.KAFKA_SASL_PASSWORD',
  'config.HASH_LIST_SECRET',
];

export interface LoggerSettings {
  service: string;
  level?: string;
  /** Human-readable output; defaults to on when stdout is a terminal. JSON otherwise. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream | pino.DestinationStream;
}

/**
 * The active span's ids, under the names the OpenTelemetry pino instrumentation uses, so a log line
 * can be found from its trace and the other way round. Done here as well as by the instrumentation:
 * the instrumentation only patches a pino loaded after the SDK started (through the ESM hook), and a
 * logger must not lose its trace ids because of import order. Both write the same values.
 */
export function traceFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}` };
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    mixin: traceFields,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const pretty = settings.pretty ?? (process.stdout.isTTY === true && settings.destination === undefined);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return settings.destination ? pino(options, settings.destination as pino.DestinationStream) : pino(options);
}
