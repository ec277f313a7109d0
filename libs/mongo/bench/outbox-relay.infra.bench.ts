/**
 * Outbox relay throughput (entries published and removed per second) by how many database
 * requests it keeps in flight, on the local stack (FerretDB 1.24 / SQLite unless MONGODB_URI says
 * otherwise). Each round: N documents with one report-sized entry each, hinted as a writer would,
 * then one `drain()`; optionally (BENCH_WRITER=1, the default) while another client keeps inserting
 * and updating documents in the same database, as intake does while its relay runs.
 *
 *   KAFKA_BROKERS=... MONGODB_URI=... npx tsx libs/mongo/bench/outbox-relay.infra.bench.ts
 *   BENCH_OUTBOX_DOCS (default 400), BENCH_OUTBOX_CONCURRENCY (default "1,4,8,100"), BENCH_WRITER (default 1)
 */
import { Type } from '@sinclair/typebox';
import { CleanupPolicy, EventCodec, EventRegistry, createEvent, defineEvent } from '@hashcheck/events';
import { createKafka, ensureTopics, EventProducer } from '@hashcheck/kafka';
import { connectMongo, outboxEntry, OutboxRelay } from '@hashcheck/mongo';
import { databaseUri, randomName } from '@hashcheck/testing';

const brokers = process.env.KAFKA_BROKERS;
const mongoUri = process.env.MONGODB_URI;
if (!brokers || !mongoUri) {
  console.log('needs KAFKA_BROKERS and MONGODB_URI (npm run bench starts the local stack)');
  console.log(JSON.stringify({ results: [] }));
  process.exit(1);
}
const DOCS = Number(process.env.BENCH_OUTBOX_DOCS ?? 400);
const LEVELS = (process.env.BENCH_OUTBOX_CONCURRENCY ?? '1,4,8,100').split(',').map(Number);
const WRITER = process.env.BENCH_WRITER !== '0';
const STALL_MS = 180_000;

const reg = new EventRegistry();
const topic = `${randomName('relay-bench')}.v1`;
reg.addTopic({ name: topic, partitions: 6, cleanupPolicy: CleanupPolicy.DELETE, description: 'bench' });
const Ev = reg.add(defineEvent({ type: 'bench.report', version: 1, topic, description: 'a report-sized event', schema: Type.Object({ n: Type.Integer(), pad: Type.String() }) }));
const kafka = createKafka({ brokers, clientId: 'relay-bench' });
await ensureTopics(kafka, reg.topics());
const producer = new EventProducer(kafka, new EventCodec(reg));
await producer.connect();
const mongo = await connectMongo(databaseUri(mongoUri, randomName('relaybench').replace(/-/g, '_')), { appName: 'relay-bench' });
const silent = { error: (o: object, m: string) => console.error(m, o), debug: () => undefined };
const pad = 'x'.repeat(1200);

/** Another client's writes in the same database: batched inserts and single-document updates. */
function writer(name: string): { stop: () => Promise<number> } {
  let stopped = false;
  let ops = 0;
  const coll = mongo.db.collection<{ _id: string; n: number; pad: string }>(name);
  const loop = (async () => {
    let i = 0;
    while (!stopped) {
      await coll.insertMany(Array.from({ length: 20 }, () => ({ _id: `o${i++}`, n: 0, pad })));
      for (let k = 0; k < 5 && !stopped; k++) await coll.updateOne({ _id: `o${i - 1 - k}` }, { $inc: { n: 1 } });
      ops += 25;
    }
  })();
  return { stop: async () => { stopped = true; await loop; return ops; } };
}

interface Round { concurrency: number; perSecond: number; ms: number; published: number; writerOps: number }

async function round(concurrency: number): Promise<Round> {
  const name = `things_c${concurrency}`;
  const coll = mongo.db.collection<{ _id: string; outbox: unknown[] }>(name);
  for (let i = 0; i < DOCS; i += 200) {
    await coll.insertMany(Array.from({ length: Math.min(200, DOCS - i) }, (_, k) => ({
      _id: `d${i + k}`,
      outbox: [outboxEntry(topic, createEvent(Ev, { subject: `s${i + k}`, source: 'bench', data: { n: i + k, pad } }))],
    })));
  }
  const relay = new OutboxRelay({ db: mongo.db, collections: [name], producer, logger: silent, concurrency });
  for (let i = 0; i < DOCS; i++) relay.notify({ collection: name, id: `d${i}` });
  const w = WRITER ? writer(`other_c${concurrency}`) : undefined;
  const t0 = performance.now();
  const published = await Promise.race([relay.drain(), new Promise<number>((r) => setTimeout(() => r(-1), STALL_MS).unref())]);
  const ms = performance.now() - t0;
  const writerOps = (await w?.stop()) ?? 0;
  if (published < 0) console.log(`concurrency ${concurrency}: no answer within ${STALL_MS / 1000} s (stalled)`);
  const left = await coll.countDocuments({ 'outbox.0': { $exists: true } });
  if (left > 0) console.log(`concurrency ${concurrency}: ${left} documents still hold entries`);
  return { concurrency, perSecond: published < 0 ? 0 : (published / ms) * 1000, ms, published, writerOps: (writerOps / ms) * 1000 };
}

const rounds: Round[] = [];
try {
  for (const c of LEVELS) {
    const r = await round(c);
    rounds.push(r);
    console.log(`relay, ${String(c).padStart(3)} in flight: ${r.perSecond.toFixed(0).padStart(5)} entries/s (${r.published} in ${(r.ms / 1000).toFixed(1)} s)${WRITER ? `; other writer ${r.writerOps.toFixed(0)} ops/s` : ''}`);
  }
} finally {
  await mongo.db.dropDatabase().catch(() => undefined);
  await mongo.client.close();
  await producer.disconnect();
}
const base = rounds[0];
console.log(JSON.stringify({
  results: rounds.map((r) => ({
    name: `outbox relay, ${r.concurrency} requests in flight${WRITER ? ', with a concurrent writer' : ''}`,
    value: Math.round(r.perSecond),
    unit: 'entries/s',
    ...(base && r !== base ? { baseline: Math.round(base.perSecond), ratio: base.perSecond > 0 ? Number((r.perSecond / base.perSecond).toFixed(3)) : null } : {}),
  })),
}));
process.exit(0);
