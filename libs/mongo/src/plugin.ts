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
    // The probe's ping says the server answers; the service's own client must be able to use it
    // too, or the service would say ready while every query fails. A server it lost is "Unknown"
    // until its monitor reaches it again.
    let lost: string | undefined;
    handle.client.on('serverDescriptionChanged', (event) => {
      lost = event.newDescription.type === 'Unknown' ? (event.newDescription.error?.message ?? 'server unreachable') : undefined;
    });
    app.readiness.add('mongodb', async () => (lost !== undefined ? { ok: false, error: `the service's client lost the server: ${lost}` } : pingMongo(probe.db)));
    app.addHook('onClose', async () => {
      await handle.client.close();
      if (probe !== handle) await probe.client.close();
    });
  },
  { name: 'hashcheck-mongo', dependencies: ['hashcheck-health'] },
);
