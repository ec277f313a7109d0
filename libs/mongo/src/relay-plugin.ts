import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ConsumerOutbox } from './consumer-outbox';
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

/**
 * The ConsumerOutbox for an app's consumer handlers, its ledger pruned past `retainMs` (longer than
 * the input topic's retention) from when the app is ready until it closes.
 */
export function createConsumerOutbox(
  app: Pick<FastifyInstance, 'mongo' | 'kafka'> & { log: { warn: (o: object, m: string) => void; error: (o: object, m: string) => void }; addHook: (name: 'onReady' | 'onClose', hook: () => Promise<void>) => unknown },
  retainMs: number,
): ConsumerOutbox {
  const outbox = new ConsumerOutbox(app.mongo.db, app.kafka.producer, app.log);
  let stop: (() => Promise<void>) | undefined;
  app.addHook('onReady', async () => { stop = outbox.startPruning({ retainMs }, app.log); });
  app.addHook('onClose', async () => stop?.());
  return outbox;
}
