/**
 * Case writes and timer firing on the real database (MONGODB_URI): N cases opened from notices,
 * then their deadlines pass and two service instances fire the timers concurrently. Reports the
 * rates and the number of double fires (must be 0). No Kafka needed: events stay in the outbox.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createEvent, NoticesSent, type EventEnvelope, type NoticesSentData } from '@hashcheck/events';
import { ensureIndexes } from '@hashcheck/mongo';
import { enforcementSettings, EnforcementConfigSchema } from '../src/config';
import { loadConfig } from '@hashcheck/config';
import { ManualClock } from '../src/domain/clock';
import { effectsToOutbox } from '../src/events';
import { EnforcementService } from '../src/service';
import { CASE_INDEXES, CaseStore } from '../src/store/cases';
import { ORDER_INDEXES, OrderStore } from '../src/store/orders';

const uri = process.env.MONGODB_URI;
if (!uri) {
  console.error('needs MONGODB_URI (npm run bench starts the stack for *.infra.bench.ts)');
  process.exit(1);
}
const N = Number(process.env.ENFORCEMENT_BENCH_CASES ?? 200);
const client = new MongoClient(uri, { retryWrites: false, maxPoolSize: 20 });
await client.connect();
const db = client.db(`enf_bench_${randomBytes(4).toString('hex')}`);
try {
  await ensureIndexes(db, [...CASE_INDEXES, ORDER_INDEXES]);
  const config = loadConfig(EnforcementConfigSchema, { KAFKA_BROKERS: 'unused:9092', MONGODB_URI: uri });
  const settings = enforcementSettings(config);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const quiet = { info: () => undefined, warn: () => undefined, error: (o: object, m: string) => console.error(m, o), debug: () => undefined };
  const make = (instanceId: string) => new EnforcementService({
    cases: new CaseStore(db, effectsToOutbox), orders: new OrderStore(db), clock, settings, providers: { get: () => undefined },
    logger: quiet, instanceId, leaseMs: 30_000, batch: 50,
  });
  const one = make('one');
  const two = make('two');

  const hex = (s: string) => createHash('sha256').update(s).digest('hex');
  const sentAt = clock.now();
  const events: EventEnvelope<NoticesSentData>[] = [];
  for (let i = 0; i < N; i += 20) {
    const items = Array.from({ length: Math.min(20, N - i) }, (_, k) => {
      const key = hex(`bench-${i + k}`);
      return { reportId: `r-${i + k}`, caseKey: key, caseId: `${key}.1`, url: `https://bench.example/${i + k}.jpg`, deadlineAt: new Date(sentAt.getTime() + 86_400_000).toISOString() };
    });
    events.push(createEvent(NoticesSent, { source: 'bench', subject: 'bench-hosting', data: {
      noticeId: `n-${i}`, providerId: 'bench-hosting', contact: 'abuse@bench.example', channel: 'email', items, sentAt: sentAt.toISOString(),
      deliveryProof: { channel: 'email', status: 'accepted', payloadSha256: hex(`n-${i}`) },
    } }));
  }
  let t = performance.now();
  await Promise.all([events.filter((_, i) => i % 2 === 0), events.filter((_, i) => i % 2 === 1)].map(async (part) => { for (const e of part) await one.handleNoticeSent(e); }));
  const openMs = performance.now() - t;

  clock.advance(86_400_000 + 1000);
  t = performance.now();
  const drain = async (s: EnforcementService) => { while ((await s.fireDueTimers()) > 0 || (await s.deps.cases.dueCases(clock.now(), 1)).length > 0) { /* until nothing is due */ } };
  await Promise.all([drain(one), drain(two)]);
  const fireMs = performance.now() - t;
  const fired = one.timerStats.fired + two.timerStats.fired;
  const doubles = fired - N;

  console.log(`${N} cases opened in ${openMs.toFixed(0)} ms (${(N / (openMs / 1000)).toFixed(0)} cases/s)`);
  console.log(`${fired} timers fired by two instances in ${fireMs.toFixed(0)} ms (${(N / (fireMs / 1000)).toFixed(0)} timers/s); one ${one.timerStats.fired}, two ${two.timerStats.fired}; claims lost to the other instance are skipped`);
  console.log(`double fires: ${doubles}`);
  console.log(JSON.stringify({ results: [
    { name: 'enforcement cases opened', value: Math.round(N / (openMs / 1000)), unit: 'cases/s' },
    { name: 'enforcement timers fired (2 instances)', value: Math.round(N / (fireMs / 1000)), unit: 'timers/s' },
    { name: 'enforcement double fires', value: doubles, unit: 'count' },
  ] }));
} finally {
  await db.dropDatabase().catch(() => undefined);
  await client.close();
}
