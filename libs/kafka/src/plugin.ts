import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { EventCodec, TopicSpec } from '@hashcheck/events';
import { createKafka, type KafkaSettings } from './client';
import { EventProducer } from './producer';
import { EventConsumer, type EventConsumerOptions } from './consumer';
import { BrokerProbe } from './health';
import { ensureTopics } from './topics';
import { LagMonitor } from './lag';
import { recordConsumed } from '@hashcheck/telemetry';

export interface KafkaHandle {
  kafka: Kafka;
  producer: EventProducer;
  codec: EventCodec;
  prefix: string;
  probe: BrokerProbe;
  lag: LagMonitor;
}

declare module 'fastify' {
  interface FastifyInstance {
    kafka: KafkaHandle;
  }
}

export interface KafkaPluginOptions {
  settings: KafkaSettings;
  codec: EventCodec;
  prefix?: string;
  /** Topics to create when missing, at start-up. */
  topics?: readonly TopicSpec[];
  replicationFactor?: number;
}

/** The Kafka client and the idempotent producer as a plugin; ready only while the broker answers. */
export const kafkaPlugin = fp<KafkaPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const kafka = createKafka({ ...opts.settings, logger: opts.settings.logger ?? app.log });
    const prefix = opts.prefix ?? '';
    if (opts.topics && opts.topics.length > 0) {
      await ensureTopics(kafka, opts.topics, { prefix, replicationFactor: opts.replicationFactor ?? 1 });
    }
    const producer = new EventProducer(kafka, opts.codec, prefix, app.log.child({ component: 'producer' }));
    await producer.connect();
    const probe = new BrokerProbe(kafka);
    const lag = new LagMonitor(kafka);
    app.decorate('kafka', { kafka, producer, codec: opts.codec, prefix, probe, lag });
    app.addHook('onReady', async () => lag.start());
    app.readiness.add('kafka', async () => {
      if (!producer.connected) {
        // A producer replaced after a failed send connects again on its own; this retries when that
        // attempt failed (broker still down) and nothing has been sent since.
        producer.reconnect();
        return { ok: false, error: 'producer not connected' };
      }
      return probe.check();
    });
    app.addHook('onClose', async () => {
      await lag.stop();
      await producer.disconnect().catch(() => undefined);
      await probe.close();
    });
  },
  { name: 'hashcheck-kafka', dependencies: ['hashcheck-health'] },
);

export type ConsumerPluginOptions = Omit<EventConsumerOptions, 'kafka' | 'codec' | 'producer' | 'logger'> & { name: string };

/**
 * One consumer group as a plugin: it starts consuming when the app is ready (so handlers can use
 * every decorator) and leaves the group on close, before the producer disconnects.
 */
export const consumerPlugin = fp<ConsumerPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const { name, ...rest } = opts;
    const consumer = new EventConsumer({
      onOutcome: (outcome, meta, ms) => recordConsumed(meta.topic, rest.groupId, outcome, ms),
      ...rest,
      kafka: app.kafka.kafka,
      codec: app.kafka.codec,
      producer: app.kafka.producer,
      logger: app.log.child({ consumer: name }),
    });
    app.kafka.lag.watch(rest.groupId, rest.topics.map((t) => app.kafka.producer.topic(t)));
    app.readiness.add(`consumer:${name}`, () => (consumer.connected ? { ok: true } : { ok: false, error: consumer.lastCrash?.message ?? 'not connected' }));
    app.addHook('onReady', async () => consumer.start());
    // Leaving the group waits for the consumer's fetch in flight: each consumer's stop starts in
    // preClose, so all of a service's consumers leave at once, not one after another (an
    // enforcement instance took 14 s to close with its three consumers taking turns). onClose
    // waits for it, still before the producer and the database close.
    let stopping: Promise<void> | undefined;
    app.addHook('preClose', (done) => {
      stopping = consumer.stop();
      stopping.catch(() => undefined);
      done();
    });
    app.addHook('onClose', async () => { await (stopping ?? consumer.stop()); });
  },
  { name: 'hashcheck-consumer', dependencies: ['hashcheck-kafka'] },
);
