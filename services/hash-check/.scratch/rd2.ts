import { randomBytes } from 'node:crypto';
import { MongoClient, Binary } from 'mongodb';
const client = new MongoClient(process.env.MONGODB_URI!, { retryWrites: false });
await client.connect();
const db = client.db('scratch_' + randomBytes(3).toString('hex'));
const coll = db.collection<{ _id: string; releaseId: string; op: string; seq: number; data: Binary }>('chunks');
await coll.createIndexes([{ key: { releaseId: 1, seq: 1 }, name: 'by_release' }]);
const N = 86;
const payload = randomBytes(16384 * 32 + 40);
for (const r of ['a', 'b']) for (let i = 0; i < N; i++) await coll.insertOne({ _id: `${r}:${i}`, releaseId: r, op: 'add', seq: i, data: new Binary(payload) });
for (let round = 0; round < 2; round++) {
  let t = performance.now();
  let n = 0; for await (const d of coll.find({ releaseId: 'a', op: 'add' }).sort({ seq: 1 })) n += d.data.buffer.length;
  console.log('filter releaseId+op, sort ms', (performance.now() - t).toFixed(0), n);
  t = performance.now();
  n = 0; for await (const d of coll.find({ releaseId: 'a', op: 'retract' }).sort({ seq: 1 })) n += d.data.buffer.length;
  console.log('filter retract (none) ms', (performance.now() - t).toFixed(0), n);
  t = performance.now();
  n = 0; for (let i = 0; i < N; i++) { const d = await coll.findOne({ _id: `a:${i}` }); n += d!.data.buffer.length; }
  console.log('sequential findOne _id ms', (performance.now() - t).toFixed(0), n);
  t = performance.now();
  n = 0; for await (const d of coll.find({ _id: { $gte: 'a:', $lt: 'a;' } })) n += d.data.buffer.length;
  console.log('_id range ms', (performance.now() - t).toFixed(0), n);
}
await db.dropDatabase(); await client.close();
