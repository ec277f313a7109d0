import { MongoClient, type Db, type IndexDescription } from 'mongodb';

export interface MongoHandle {
  client: MongoClient;
  db: Db;
  /** Whether the server is FerretDB (the local stack's MongoDB-wire server), whose limits some code works around. */
  ferretdb: boolean;
  /**
   * For long read-only scans (the outbox relay's sweep). On FerretDB a connection of its own: a
   * scan there reads every document of a collection (2.1 - 2.3 s at ~10,000 reports), and on the
   * service's one connection every write of the service waited for it. Elsewhere `db`.
   */
  scanDb?: Db;
}

/**
 * Connects with short timeouts so an unreachable database is reported, not waited on forever.
 *
 * On FerretDB 1.24 an update is a SELECT and then an UPDATE with no transaction around them
 * (internal/handler/msg_update.go), so two commands updating one document at once can lose one of
 * the two changes: in libs/mongo/test/ferretdb-updates.test.ts, a "service" and an "outbox relay"
 * updating 20 documents at once over a pool of 100 connections lost 474 of 2,000 increments. The
 * server handles one connection's commands one after another, so against FerretDB (unless the URI
 * sets maxPoolSize) a client uses a single connection: then nothing one process writes can
 * interleave, and the same run lost none and took 21 s instead of 77 s (SQLite serialises writes
 * anyway). Several processes writing the same documents remain unsafe on FerretDB; production runs
 * on MongoDB, where single-document updates are atomic.
 */
export async function connectMongo(uri: string, options: { appName: string; dbName?: string; serverSelectionTimeoutMS?: number; maxPoolSize?: number }): Promise<MongoHandle> {
  const base = {
    appName: options.appName,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
    connectTimeoutMS: 5000,
    // FerretDB has no retryable writes (no sessions); real MongoDB retries once on a network blip.
    retryWrites: false,
    ...(options.maxPoolSize !== undefined ? { maxPoolSize: options.maxPoolSize } : {}),
  };
  let client = new MongoClient(uri, base);
  await client.connect();
  const ferretdb = await isFerretDb(client);
  if (ferretdb && options.maxPoolSize === undefined && !/[?&]maxPoolSize=/i.test(uri)) {
    await client.close();
    client = new MongoClient(uri, { ...base, maxPoolSize: 1 });
    await client.connect();
  }
  return { client, db: client.db(options.dbName), ferretdb };
}

async function isFerretDb(client: MongoClient): Promise<boolean> {
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    return info.ferretdbVersion !== undefined;
  } catch {
    return false;
  }
}

export interface CollectionIndexes {
  collection: string;
  indexes: IndexDescription[];
}

/**
 * Creates the indexes every collection needs, at start-up, before the service reports ready.
 * One index per command: FerretDB 1.24 drops the connection (a panic in its handler) when one
 * createIndexes command names two or more indexes that all exist already, which is every restart
 * and every second instance of a service. One at a time is idempotent on both servers.
 */
export async function ensureIndexes(db: Db, specs: readonly CollectionIndexes[]): Promise<void> {
  for (const spec of specs) {
    for (const index of spec.indexes) await db.collection(spec.collection).createIndexes([index]);
  }
}

export async function pingMongo(db: Db, timeoutMs = 1500): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.command({ ping: 1 }),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs); }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
