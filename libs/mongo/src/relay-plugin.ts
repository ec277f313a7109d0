import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { OutboxRelay } from './outbox';

declare module 'fastify' {
  interface FastifyInstance {
    outbox: OutboxRelay;
  }
}

export interface OutboxRelayPluginOptions {
  collections: string[];
  /** See OutboxRelayOptions.marked. */
  marked?: string[];
  intervalMs?: number;
}

/** Starts relaying once the app is ready; stops before the producer and the client close. */
export const outboxRelayPlugin = fp<OutboxRelayPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const relay = new OutboxRelay({
      db: app.mongo.db,
      ...(app.mongo.scanDb ? { scanDb: app.mongo.scanDb } : {}),
      collections: opts.collections,
      marked: opts.marked ?? [],
      producer: app.kafka.producer,
      logger: app.log,
      intervalMs: opts.intervalMs ?? 500,
    });
    app.decorate('outbox', relay);
    app.addHook('onReady', async () => relay.start());
    app.addHook('onClose', async () => relay.stop());
  },
  { name: 'hashcheck-outbox-relay', dependencies: ['hashcheck-mongo', 'hashcheck-kafka'] },
);

