/**
 * The readiness rule of the mongo plugin: not ready while the service's own client has lost the
 * server, even when the readiness probe (a connection of its own on FerretDB) still pings it. D5 in
 * docs/reliability.md: a service answered ready for 12 minutes while every one of its queries failed.
 *
 * A TCP proxy in front of the real database tells the two clients apart by the application name in
 * the first message of each connection (the handshake) and, on `cut`, closes every connection of the
 * service's client and refuses its new ones, while the probe's go through.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { healthPlugin } from '@hashcheck/http';
import { connectMongo, mongoPlugin } from '@hashcheck/mongo';
import { databaseUri, infra, randomName, waitFor } from '@hashcheck/testing';

class AppNameProxy {
  cut = false;
  readonly #server: Server;
  readonly #main = new Set<Socket>();
  readonly #all = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }, private readonly mainAppName: string) {
    this.#server = createServer((client) => this.#accept(client));
  }

  async start(): Promise<void> {
    await new Promise<void>((ok) => this.#server.listen(0, '127.0.0.1', ok));
    const a = this.#server.address();
    if (typeof a === 'object' && a) this.port = a.port;
  }

  /** Closes every connection of the service's client and refuses its new ones until `restore()`. */
  cutMain(): void {
    this.cut = true;
    for (const s of this.#main) s.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  #accept(client: Socket): void {
    this.#all.add(client);
    client.on('close', () => this.#all.delete(client));
    client.on('error', () => client.destroy());
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4 || buffered.length < buffered.readInt32LE(0)) return;
      client.off('data', onData);
      client.pause();
      // The probe's name is the service's name + "-probe"; anything else with the service's name is its client.
      const first = buffered.toString('latin1');
      const isMain = first.includes(this.mainAppName) && !first.includes(`${this.mainAppName}-probe`);
      if (isMain && this.cut) {
        client.destroy();
        return;
      }
      if (isMain) {
        this.#main.add(client);
        client.on('close', () => this.#main.delete(client));
      }
      const upstream = createConnection(this.target);
      this.#all.add(upstream);
      upstream.on('close', () => { this.#all.delete(upstream); client.destroy(); });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.write(buffered);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    };
    client.on('data', onData);
  }

  async close(): Promise<void> {
    for (const s of this.#all) s.destroy();
    await new Promise<void>((ok) => this.#server.close(() => ok()));
  }
}

interface Setup {
  app: FastifyInstance;
  proxy: AppNameProxy;
  appName: string;
  dbName: string;
  /** Error-level log lines of the app. */
  logged: string[];
}

/** An app with the health and mongo plugins whose database connections all go through the proxy. */
async function setup(t: TestContext, mongoUri: string, options: { monitorSilentMs?: number } = {}): Promise<Setup> {
  const target = new URL(mongoUri);
  const appName = randomName('rdy');
  const proxy = new AppNameProxy({ host: target.hostname, port: Number(target.port || 27017) }, appName);
  await proxy.start();
  t.after(() => proxy.close());
  const viaProxy = new URL(mongoUri);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const dbName = randomName('rdy').replace(/-/g, '_');
  const logged: string[] = [];
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { logged.push(line); } } } });
  await app.register(healthPlugin);
  await app.register(mongoPlugin, { uri: databaseUri(viaProxy.toString(), dbName), appName, ...options });
  await app.ready();
  t.after(async () => {
    await app.mongo.db.dropDatabase().catch(() => undefined);
    await app.close();
  });
  return { app, proxy, appName, dbName, logged };
}

test('mongo readiness: not ready while the service\'s own client has lost the server though the probe pings it; ready again when it is back', { timeout: 180_000 }, async (t) => {
  const env = infra(t);
  if (!env) return;
  const { app, proxy, appName, dbName, logged } = await setup(t, env.mongoUri);
  if (!app.mongo.ferretdb) {
    // On MongoDB the probe is the service's client itself: the lost client fails the ping as well.
    t.diagnostic('not FerretDB: the readiness probe is the service\'s own client here');
  }
  const ready = async (): Promise<{ status: number; error?: string }> => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    // The answer says which check fails; the reason is only in the log.
    const error = lastReadinessReason(logged, 'mongodb');
    return { status: res.statusCode, ...(error ? { error } : {}) };
  };
  await waitFor(async () => (await ready()).status === 200, { what: 'ready before the cut', timeoutMs: 60_000 });
  await app.mongo.db.collection('things').insertOne({ n: 1 });

  proxy.cutMain();
  const down = await waitFor(async () => { const r = await ready(); return r.status === 503 ? r : undefined; }, { what: 'not-ready once the service\'s client lost the server', timeoutMs: 60_000 });
  if (app.mongo.ferretdb) {
    assert.match(down.error ?? '', /the service's client lost the server/, 'the reason names the service\'s client, not the probe');
    // The server itself answers: only the service's client is cut off (another client pings it directly).
    const other = await connectMongo(databaseUri(env.mongoUri, dbName), { appName: `${appName}-other`, maxPoolSize: 1 });
    t.after(() => other.client.close());
    assert.deepEqual(await other.db.command({ ping: 1 }).then(() => 'pong'), 'pong');
  }
  await assert.rejects(app.mongo.db.collection('things').insertOne({ n: 2 }), 'the service\'s client cannot write while cut off');

  proxy.restore();
  await waitFor(async () => (await ready()).status === 200, { what: 'ready again once the service\'s client reaches the server', timeoutMs: 90_000 });
  await app.mongo.db.collection('things').insertOne({ n: 3 });
  assert.equal(await app.mongo.db.collection('things').countDocuments({ n: { $in: [1, 3] } }), 2);
});

/** The reason last logged for a failing readiness check. */
function lastReadinessReason(logged: string[], check: string): string | undefined {
  const lines = logged.map((l) => JSON.parse(l) as { msg?: string; check?: string; reason?: string }).filter((l) => l.msg === 'readiness check failing' && l.check === check);
  return lines.at(-1)?.reason;
}

interface DriverInternals { topology?: { s: { servers: Map<string, { monitor?: { monitorId?: { stop(): void } } }> } } }

test('mongo client whose server monitor stopped (D5) is reconnected once the probe reaches the server, and the service works again', { timeout: 240_000 }, async (t) => {
  const env = infra(t);
  if (!env) return;
  const { app, proxy, logged } = await setup(t, env.mongoUri, { monitorSilentMs: 45_000 });
  // On MongoDB the probe is the service's client itself, and the driver restarts a streaming
  // monitor on a network error: the D5 state is FerretDB's (a polling monitor, no topologyVersion).
  if (!app.mongo.ferretdb) return t.skip('needs FerretDB as the MongoDB-wire server (the local stack\'s default)');
  const things = app.mongo.db.collection('things');
  await things.insertOne({ n: 1 });

  // The state D5 left notification in: the client's server monitor no longer checks (made here by
  // stopping the driver's monitor timer), and then the client loses its connection to the server.
  const servers = (app.mongo.client as unknown as DriverInternals).topology?.s.servers;
  assert.ok(servers && servers.size > 0, 'the driver\'s topology has changed shape; this test reaches into it');
  for (const s of servers.values()) s.monitor?.monitorId?.stop();
  proxy.cutMain();
  await assert.rejects(things.insertOne({ n: 2 }));
  proxy.restore();
  // The server is reachable again, but this client cannot find it by itself.
  await assert.rejects(things.insertOne({ n: 3 }), /Server selection timed out|closed|ECONN/);
  const res = await app.inject({ method: 'GET', url: '/health/ready' });
  assert.equal(res.statusCode, 503);
  assert.deepEqual(res.json<{ checks: { mongodb: object } }>().checks.mongodb, { ok: false });
  assert.match(lastReadinessReason(logged, 'mongodb') ?? '', /lost the server .*its server monitor last reported \d+ s ago/);

  await waitFor(async () => (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, { what: 'ready again after the client was reconnected', timeoutMs: 150_000, intervalMs: 1000 });
  await things.insertOne({ n: 4 });
  assert.equal(await things.countDocuments({ n: { $in: [1, 4] } }), 2, 'the collection handle taken before the reconnect works');
  assert.ok(logged.some((l) => l.includes('reconnecting the client')), 'the reconnect is logged');
});
