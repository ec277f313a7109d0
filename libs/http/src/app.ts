import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { ErrorCode, isHashCheckError } from '@hashcheck/errors';
import { healthPlugin } from './health';

export interface CreateAppOptions {
  service: string;
  version?: string;
  description?: string;
  logger: Logger;
  bodyLimit?: number;
  /** Requests behind a reverse proxy: trust X-Forwarded-* from it. */
  trustProxy?: boolean;
}

export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * A fastify instance with what every HashCheck service shares: one error shape, security headers,
 * body limits, health routes and an OpenAPI document at /openapi.json.
 */
export async function createApp(options: CreateAppOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 1_048_576,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    // onReady hooks start consumers and read compacted topics to their end; after a crash, or on a
    // busy machine, that took longer than fastify's 10 s default and the service exited instead of starting.
    pluginTimeout: 120_000,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    // Bad percent-encoding and over-long path parameters are refused before routing; without this
    // they got fastify's own body shape instead of the one error shape.
    frameworkErrors: (err, _request, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as unknown as { status(n: number): { send(b: ErrorBody): unknown } }).status(status).send({ error: { code: ErrorCode.VALIDATION, message: err.message } });
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const body = toErrorBody(err);
    const status = statusOf(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: body.error.code, status }, 'request refused');
    if (status === 429 && isHashCheckError(err) && typeof (err.details as { retryAfterSeconds?: number })?.retryAfterSeconds === 'number') {
      void reply.header('retry-after', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds));
    }
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: ErrorCode.NOT_FOUND, message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });

  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `HashCheck ${options.service}`, version: options.version ?? '0.1.0', description: options.description ?? '' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key issued by an administrator' },
          basic: { type: 'http', scheme: 'basic', description: 'EOKM-compatible: user = tenant id, password = API key' },
        },
      },
    },
  });
  await app.register(healthPlugin);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

function statusOf(err: FastifyError): number {
  if (isHashCheckError(err)) return err.statusCode;
  if (err.validation) return 400;
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600) return err.statusCode;
  return 500;
}

function toErrorBody(err: FastifyError): ErrorBody {
  if (isHashCheckError(err)) return { error: err.toJSON() };
  if (err.validation) {
    return {
      error: {
        code: ErrorCode.VALIDATION,
        message: `request ${err.validationContext ?? 'body'} is invalid`,
        details: err.validation.map((v) => ({ path: `${err.validationContext ?? 'body'}${v.instancePath}`, message: v.message })),
      },
    };
  }
  const status = statusOf(err);
  if (status === 413) return { error: { code: ErrorCode.PAYLOAD_TOO_LARGE, message: err.message } };
  if (status === 429) return { error: { code: ErrorCode.RATE_LIMITED, message: err.message } };
  if (status < 500) return { error: { code: err.code && err.code.startsWith('FST_') ? mapFastifyCode(err.code) : ErrorCode.VALIDATION, message: err.message } };
  // Internal failures never leak their message to the caller; the log has it.
  return { error: { code: ErrorCode.INTERNAL, message: 'internal error' } };
}

function mapFastifyCode(code: string): string {
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'HC_UNSUPPORTED_MEDIA_TYPE';
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return 'HC_MALFORMED_BODY';
  return ErrorCode.VALIDATION;
}
