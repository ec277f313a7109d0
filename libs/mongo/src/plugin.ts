import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { connectMongo, ensureIndexes, pingMongo, type CollectionIndexes, type MongoHandle } from './client';

declare module 'fastify' {
  interface FastifyInstance {
    mongo: MongoHandle;
  }
}

/** A monitor that reported nothing for this long while its server is lost has stopped (it checks every 10 s at the least). */
const MONITOR_SILENT_MS = 60_000;

export interface MongoPluginOptions {
  uri: string;
  appName: string;
  indexes?: CollectionIndexes[];
  /** How long the client's server monitor may be silent while the server is lost before the client is reconnected (60 s; tests). */
  monitorSilentMs?: number;
}

/** The MongoDB client as a plugin: connected and indexed before the app is ready, closed last. */
export const mongoPlugin = fp<MongoPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const handle = await connectMongo(opts.uri, { appName: opts.appName });
    // With one connection (FerretDB, see connectMongo) a ping would queue behind a long query and
    // report a busy database as down: readiness pings go over a connection of their own.
    const probeHandle = handle.ferretdb ? await connectMongo(opts.uri, { appName: `${opts.appName}-probe`, maxPoolSize: 1 }) : handle;
    // Reads only (see MongoHandle.scanDb): no write can be lost to a concurrent one through it.
    const scanHandle = handle.ferretdb ? await connectMongo(opts.uri, { appName: `${opts.appName}-scan`, maxPoolSize: 1 }) : handle;
    handle.scanDb = scanHandle.db;
    await ensureIndexes(handle.db, opts.indexes ?? []);
    app.decorate('mongo', handle);
    // The probe's ping says the server answers; the service's own client must be able to use it
    // too, or the service would say ready while every query fails. A server it lost is "Unknown"
    // until its monitor reaches it again.
    let lost: { since: number; error: string } | undefined;
    handle.client.on('serverDescriptionChanged', (event) => {
      if (event.newDescription.type !== 'Unknown') {
        lost = undefined;
        return;
      }
      const error = event.newDescription.error?.message ?? 'server unreachable';
      lost = { since: lost?.since ?? Date.now(), error };
    });
    // The driver's server monitor checks the server every 10 s while it is lost (every 0.5 s while
    // an operation waits) and reports each check. In D5 (docs/reliability.md) notification's client
    // kept the error of the moment the database died for 12 minutes after it was back: its monitor
    // never reported again, so it never found the server again. A client whose monitor has been
    // silent that long while the probe reaches the server is closed and connected again (the same
    // MongoClient: every Db and Collection handle taken from it keeps working), and that is logged.
    const silentMs = opts.monitorSilentMs ?? MONITOR_SILENT_MS;
    let lastHeartbeat = Date.now();
    const beat = (): void => { lastHeartbeat = Date.now(); };
    for (const e of ['serverHeartbeatStarted', 'serverHeartbeatSucceeded', 'serverHeartbeatFailed'] as const) handle.client.on(e, beat);
    let reconnecting: Promise<void> | undefined;
    const watchdog = async (): Promise<void> => {
      const now = Date.now();
      if (!lost || reconnecting || now - lastHeartbeat < silentMs || !(await pingMongo(probeHandle.db)).ok) return;
      const fields = { lostForS: Math.round((now - lost.since) / 1000), monitorSilentS: Math.round((now - lastHeartbeat) / 1000), error: lost.error };
      app.log.error(fields, 'the MongoDB client lost the server and its monitor stopped checking while the server answers the probe: reconnecting the client');
      reconnecting = (async () => {
        await handle.client.close();
        await handle.client.connect();
        lastHeartbeat = Date.now();
      })().catch((err: unknown) => app.log.error({ err }, 'reconnecting the MongoDB client failed; will try again'))
        .finally(() => { reconnecting = undefined; });
      await reconnecting;
    };
    const timer = setInterval(() => void watchdog(), Math.min(10_000, Math.max(1000, silentMs / 4)));
    timer.unref();
    app.readiness.add('mongodb', async () => {
      if (lost === undefined) return pingMongo(probeHandle.db);
      const now = Date.now();
      return { ok: false, error: `the service's client lost the server ${Math.round((now - lost.since) / 1000)} s ago (${lost.error}); its server monitor last reported ${Math.round((now - lastHeartbeat) / 1000)} s ago` };
    });
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await reconnecting;
      await handle.client.close();
      if (probeHandle !== handle) await probeHandle.client.close();
      if (scanHandle !== handle) await scanHandle.client.close();
    });
  },
  { name: 'hashcheck-mongo', dependencies: ['hashcheck-health'] },
);
