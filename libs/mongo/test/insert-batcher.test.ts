/**
 * InsertBatcher against the real database: each caller learns its own outcome, and a caller is told
 * "stored" only when its document is. The second test cuts the connection under an insertMany with
 * a TCP proxy (the insert never reaches the server): the driver then throws a MongoBulkWriteError
 * with an empty `writeErrors`, which the batcher used to read as "every document stored" (D4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { isDuplicateKeyError, isRetriable } from '@hashcheck/errors';
import { connectMongo, InsertBatcher } from '@hashcheck/mongo';
import { databaseUri, infra, randomName } from '@hashcheck/testing';

interface Doc { _id: string; n: number }

test('concurrent inserts become one insertMany; a duplicate fails only its own caller', async (t) => {
  const env = infra(t);
  if (!env) return;
  const handle = await connectMongo(databaseUri(env.mongoUri, randomName('batcher').replace(/-/g, '_')), { appName: 'batcher-test' });
  t.after(async () => { await handle.db.dropDatabase(); await handle.client.close(); });
  const coll = handle.db.collection<Doc>('docs');
  await coll.insertOne({ _id: 'taken', n: -1 });
  const batcher = new InsertBatcher(coll);
  const ids = ['a', 'b', 'taken', 'c'];
  const outcomes = await Promise.allSettled(ids.map((id, n) => batcher.insert({ _id: id, n })));
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  assert.ok(isDuplicateKeyError((outcomes[2] as PromiseRejectedResult).reason), 'the duplicate is a duplicate-key error');
  assert.deepEqual((await coll.find().sort({ _id: 1 }).toArray()).map((d) => `${d._id}:${d.n}`), ['a:0', 'b:1', 'c:3', 'taken:-1']);
});

/** Forwards bytes both ways; once armed, the next client message holding `marker` closes both sides instead. */
function cuttingProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let armed: string | undefined;
  let cuts = 0;
  const server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (chunk: Buffer) => {
      if (armed !== undefined && chunk.includes(armed, 0, 'latin1')) {
        armed = undefined;
        cuts++;
        close();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  return {
    async listen(): Promise<number> {
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      return (server.address() as { port: number }).port;
    },
    arm(marker: string) { armed = marker; },
    get cuts() { return cuts; },
    async close() { for (const s of sockets) s.destroy(); await new Promise((ok) => server.close(ok)); },
  };
}

test('a connection lost under an insertMany fails every caller: none is told its document is stored', async (t) => {
  const env = infra(t);
  if (!env) return;
  const url = new URL(env.mongoUri);
  const proxy = cuttingProxy({ host: url.hostname, port: Number(url.port || 27017) });
  const port = await proxy.listen();
  const dbName = randomName('batchercut').replace(/-/g, '_');
  const direct = await connectMongo(databaseUri(env.mongoUri, dbName), { appName: 'batcher-cut-check' });
  // retryWrites off: a retried insert would hide the cut this test is about.
  const viaProxy = await connectMongo(databaseUri(`mongodb://127.0.0.1:${port}/?directConnection=true&retryWrites=false`, dbName), { appName: 'batcher-cut', serverSelectionTimeoutMS: 3000 });
  t.after(async () => {
    await viaProxy.client.close().catch(() => undefined);
    await proxy.close();
    await direct.db.dropDatabase();
    await direct.client.close();
  });
  const coll = viaProxy.db.collection<Doc>('docs');
  await coll.insertOne({ _id: 'warm', n: 0 }); // the collection exists; the next insert is the one cut
  const batcher = new InsertBatcher(coll);
  proxy.arm('lost-0');
  const ids = Array.from({ length: 20 }, (_, i) => `lost-${i}`);
  const outcomes = await Promise.allSettled(ids.map((id, n) => batcher.insert({ _id: id, n })));
  assert.equal(proxy.cuts, 1, 'the proxy cut the insert');
  const stored = new Set((await direct.db.collection<Doc>('docs').find().toArray()).map((d) => d._id));
  const told = ids.filter((_, i) => outcomes[i]!.status === 'fulfilled');
  t.diagnostic(`told stored: ${told.length}, stored: ${[...stored].filter((id) => id !== 'warm').length}`);
  for (const id of told) assert.ok(stored.has(id), `${id} was reported stored but is not in the database`);
  assert.equal(told.length, 0, 'the insert never reached the server, so no caller may be told it is stored');
  const reason = (outcomes[0] as PromiseRejectedResult).reason as Error;
  t.diagnostic(`error: ${reason.name}: ${reason.message}; retriable: ${isRetriable(reason)}`);
  assert.ok(isRetriable(reason), `a lost connection is retriable (the consumer redelivers), got ${reason.name}`);
});
