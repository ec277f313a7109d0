import { MongoClient, type Db, type IndexDescription } from 'mongodb';

export interface MongoHandle {
  client: MongoClient;
  db: Db;
}

/** Connects with short timeouts so an unreachable database is reported, not waited on forever. */
export async function connectMongo(uri: string, options: { appName: string; dbName?: string; serverSelectionTimeoutMS?: number }): Promise<MongoHandle> {
  const client = new MongoClient(uri, {
    appName: options.appName,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
    connectTimeoutMS: 5000,
    // FerretDB has no retryable writes (no sessions); real MongoDB retries once on a network blip.
    retryWrites: false,
  });
  await client.connect();
  const db = client.db(options.dbName);
  return { client, db };
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
