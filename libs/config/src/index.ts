import { envSchema } from 'env-schema';
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';

export { Type, type Static };

/** Settings every service shares. Service-specific schemas spread these in. */
export const KafkaSettings = {
  KAFKA_BROKERS: Type.String({ minLength: 1, pattern: '^[^,\\s]+(,[^,\\s]+)*$', description: 'comma-separated host:port list' }),
  KAFKA_CLIENT_ID: Type.Optional(Type.String({ minLength: 1 })),
  KAFKA_SSL: Type.Boolean({ default: false }),
  KAFKA_SASL_MECHANISM: Type.Optional(Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')])),
  KAFKA_SASL_USERNAME: Type.Optional(Type.String()),
  KAFKA_SASL_PASSWORD: Type.Optional(Type.String()),
  KAFKA_REPLICATION_FACTOR: Type.Integer({ minimum: 1, default: 1 }),
  KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
};

export const MongoSettings = {
  MONGODB_URI: Type.String({ pattern: '^mongodb(\\+srv)?://' }),
};

export const HttpSettings = {
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 1_048_576 }),
};

function describe(errors: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>): string[] {
  return errors.map((e) => {
    const missing = e.params?.missingProperty;
    if (typeof missing === 'string') return `${missing} is required but not set`;
    const name = (e.instancePath ?? '').replace(/^\//, '') || 'environment';
    return `${name} ${e.message ?? 'is invalid'}`;
  });
}

/**
 * Validates the environment once, at boot, into a frozen typed object. A missing or malformed
 * variable throws HC_CONFIG_INVALID whose message names every offending variable, so the process
 * stops before it listens.
 */
export function loadConfig<P extends TProperties>(
  schema: TObject<P>,
  env: Record<string, string | undefined> = process.env,
): Readonly<Static<TObject<P>>> {
  try {
    // env: false, or env-schema merges process.env under `env` and a test's explicit env is not what is validated.
    const data = envSchema<Static<TObject<P>>>({ schema, data: env, dotenv: false, env: false });
    const picked: Record<string, unknown> = {};
    for (const key of Object.keys(schema.properties)) {
      if ((data as Record<string, unknown>)[key] !== undefined) picked[key] = (data as Record<string, unknown>)[key];
    }
    return Object.freeze(picked) as Readonly<Static<TObject<P>>>;
  } catch (err) {
    const ajvErrors = (err as { errors?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }> }).errors;
    const reasons = ajvErrors ? describe(ajvErrors) : [(err as Error).message];
    throw new HashCheckError(ErrorCode.CONFIG_INVALID, `invalid configuration: ${reasons.join('; ')}`, {
      cause: err,
      details: reasons,
    });
  }
}

/** For `main.ts`: print a config error plainly and exit non-zero instead of a stack trace. */
export function loadConfigOrExit<P extends TProperties>(schema: TObject<P>, service: string): Readonly<Static<TObject<P>>> {
  try {
    return loadConfig(schema);
  } catch (err) {
    process.stderr.write(`${service}: ${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
}
