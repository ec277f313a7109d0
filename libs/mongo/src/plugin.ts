import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { connectMongo, ensureIndexes, pingMongo, type CollectionIndexes, type MongoHandle } from './client';

declare module 'fastify' {
  interface FastifyInstance {
    mongo: MongoHandle;
  }
}

export interface MongoPluginOptions {
  uri: string;
  appName: string;
  indexes?: CollectionIndexes[];
}

/** The MongoDB client as a plugin: connected and indexed before the app is ready, closed last. */
export const mongoPlugin = fp<MongoPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const handle = await connectMongo(opts.uri, { appName: opts.appName });
    // With one connection (FerretDB, see connectMongo) a ping would queue behind a long query and
    // report a busy database as down: readiness pings go over a connection of their own.
    const probe = handle.ferretdb ? await connectMongo(opts.uri, { appName: `${opts.appName}-probe`, maxPoolSize: 1 }) : handle;
    await ensureIndexes(handle.db, opts.indexes ?? []);
    app.decorate('mongo', handle);
    app.readiness.add('mongodb', () => pingMongo(probe.db));
    app.addHook('onClose', async () => {
      await handle.client.close();
      if (probe !== handle) await probe.client.close();
    });
  },
  { name: 'hashcheck-mongo', dependencies: ['hashcheck-health'] },
);
