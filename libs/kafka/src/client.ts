import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';

export interface KafkaSettings {
  brokers: string | string[];
  clientId: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Where kafkajs' own log lines go; defaults to nowhere but errors on stderr. */
  logger?: { error: (o: object, m: string) => void; warn: (o: object, m: string) => void; info: (o: object, m: string) => void; debug: (o: object, m: string) => void };
  connectionTimeoutMs?: number;
}

/** Maps the shared environment (see @hashcheck/config KafkaSettings) to client settings. */
export function kafkaSettingsFromConfig(
  config: {
    KAFKA_BROKERS: string;
    KAFKA_CLIENT_ID?: string;
    KAFKA_SSL?: boolean;
    KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    KAFKA_SASL_USERNAME?: string;
    KAFKA_SASL_PASSWORD?: string;
  },
  defaultClientId: string,
): KafkaSettings {
  const settings: KafkaSettings = {
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID ?? defaultClientId,
    ssl: config.KAFKA_SSL ?? false,
  };
  if (config.KAFKA_SASL_MECHANISM) {
    if (!config.KAFKA_SASL_USERNAME || !config.KAFKA_SASL_PASSWORD) {
      throw new Error('KAFKA_SASL_MECHANISM is set but KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is missing');
    }
    settings.sasl = { mechanism: config.KAFKA_SASL_MECHANISM, username: config.KAFKA_SASL_USERNAME, password: config.KAFKA_SASL_PASSWORD };
  }
  return settings;
}

export function createKafka(settings: KafkaSettings): Kafka {
  const log = settings.logger;
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: Array.isArray(settings.brokers) ? settings.brokers : settings.brokers.split(','),
    ssl: settings.ssl ?? false,
    connectionTimeout: settings.connectionTimeoutMs ?? 3000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const fields = { kafka: { namespace: entry.namespace, ...rest } };
      if (!log) {
        if (entry.level === logLevel.ERROR) process.stderr.write(`kafkajs ${entry.namespace}: ${message}\n`);
        return;
      }
      if (entry.level === logLevel.ERROR) log.error(fields, message);
      else if (entry.level === logLevel.WARN) log.warn(fields, message);
      else if (entry.level === logLevel.INFO) log.info(fields, message);
      else log.debug(fields, message);
    },
  };
  if (settings.sasl) config.sasl = settings.sasl as SASLOptions;
  return new Kafka(config);
}
