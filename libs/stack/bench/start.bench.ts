/**
 * Start-up cost of the local stack: artifact preparation (a no-op when cached), start until every
 * part answers, and stop. Ignores KAFKA_BROKERS / MONGODB_URI / ZIPKIN_URL so it measures a real
 * start. Cold figures: point HASHCHECK_CACHE, MAVEN_OPTS=-Dmaven.repo.local=..., GOMODCACHE and
 * GOCACHE at empty directories (see docs/local-stack.md).
 *
 *   npx tsx libs/stack/bench/start.bench.ts [--zipkin]
 */
import { prepareStack, startStack } from '@hashcheck/stack';

const zipkin = process.argv.includes('--zipkin') || process.env.HASHCHECK_BENCH_ZIPKIN === '1';
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.KAFKA_BROKERS;
delete env.MONGODB_URI;
delete env.ZIPKIN_URL;

const log = (line: string): void => console.log(`  ${line}`);
const t0 = Date.now();
const prepared = await prepareStack({ env, zipkin, log });
const t1 = Date.now();
const stack = await startStack({ env, zipkin, log });
const t2 = Date.now();
await stack.stop();
const t3 = Date.now();

const suffix = zipkin ? '+zipkin' : '';
const results = [
  { name: `stack.prepare${suffix}`, value: t1 - t0, unit: 'ms' },
  { name: `stack.start${suffix} (${stack.mongoKind})`, value: t2 - t1, unit: 'ms' },
  { name: `stack.stop${suffix}`, value: t3 - t2, unit: 'ms' },
];
for (const [name, a] of Object.entries(prepared)) {
  if (typeof a === 'object') console.log(`${name}: ${a.cached ? 'cached' : `prepared in ${a.ms} ms`}`);
}
for (const r of results) console.log(`${r.name.padEnd(34)} ${String(r.value).padStart(8)} ${r.unit}`);
console.log(JSON.stringify({ results }));
