import { randomBytes } from 'node:crypto';
import { MongoClient, Binary } from 'mongodb';
const client = new MongoClient(process.env.MONGODB_URI!, { retryWrites: false });
await client.connect();
const db = client.db('scratch_' + randomBytes(3).toString('hex'));
const coll = db.collection<{ _id: string; releaseId: string; op: string; seq: number; data: Binary }>('chunks');
await coll.createIndexes([{ key: { releaseId: 1, seq: 1 }, name: 'by_release' }]);
const N = 86;
const payload = randomBytes(16384 * 32 + 40);
for (let i = 0; i < N; i++) await coll.insertOne({ _id: `r:${i}`, releaseId: 'r', op: 'add', seq: i, data: new Binary(payload) });
for (let round = 0; round < 2; round++) {
  let t = performance.now();
  let n = 0; for await (const d of coll.find({ releaseId: 'r', op: 'add' }).sort({ seq: 1 })) n += d.data.buffer.length;
  console.log('sequential cursor ms', (performance.now() - t).toFixed(0), n);
  t = performance.now();
  n = 0; for await (const d of coll.find({ releaseId: 'r' }).sort({ releaseId: 1, seq: 1 }).batchSize(8)) n += d.data.buffer.length;
  console.log('cursor batch 8, index sort ms', (performance.now() - t).toFixed(0), n);
  t = performance.now();
  const P = 4; const parts = await Promise.all(Array.from({ length: P }, async (_v, k) => { let m = 0; for await (const d of coll.find({ releaseId: 'r', seq: { $gte: Math.floor(k * N / P), $lt: Math.floor((k + 1) * N / P) } }).sort({ seq: 1 })) m += d.data.buffer.length; return m; }));
  console.log('4 parallel ranges ms', (performance.now() - t).toFixed(0), parts.reduce((a, b) => a + b, 0));
  t = performance.now();
  const docs = await Promise.all(Array.from({ length: N }, (_v, i) => coll.findOne({ _id: `r:${i}` })));
  console.log('86 parallel findOne ms', (performance.now() - t).toFixed(0), docs.length);
}
await db.dropDatabase(); await client.close();
