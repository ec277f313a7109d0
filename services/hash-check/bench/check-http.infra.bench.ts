// The service end to end, on the local stack (Kafka + MongoDB-wire server):
//  1. import 1.4 M exact hashes (md5/sha1/sha256, NDJSON) and 1.4 M PDQ hashes (text) over HTTP,
//     stored as sealed chunks, activated;
//  2. a second instance starts on the same database: time to load both lists;
//  3. bulk HTTP check, 10,000 hashes per request, 4 requests in flight, against that instance
//     (a separate process, one core), versus an endpoint that only parses and echoes (same requests).
// HASHCHECK_BENCH_HTTP_N changes the list sizes (default 1,400,000).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..', '..');
const N = Number(process.env.HASHCHECK_BENCH_HTTP_N ?? 1_400_000);
const ITEMS = 10_000;
const CONCURRENCY = Number(process.env.HASHCHECK_BENCH_HTTP_CONCURRENCY ?? 4);
// One item in HIT_EVERY is a stored hash (default 100: 1% of the items match; 0 = none).
const HIT_EVERY = Number(process.env.HASHCHECK_BENCH_HTTP_HIT_EVERY ?? 100);
const SECONDS = Number(process.env.HASHCHECK_BENCH_HTTP_SECONDS ?? 6);
const brokers = process.env.KAFKA_BROKERS;
const mongoUri = process.env.MONGODB_URI;
if (!brokers || !mongoUri) {
  console.error('needs KAFKA_BROKERS and MONGODB_URI (npm run bench starts the local stack for *.infra.bench.ts)');
  process.exit(1);
}

const started = performance.now();
const log = (m: string): void => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${m}`);
const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
// One secret for both instances of the run (B opens what A sealed).
const SECRET = `bench:${randomBytes(24).toString('hex')}`;
const db = `bench_hc_${randomBytes(4).toString('hex')}`;
const prefix = `bench-${randomBytes(4).toString('hex')}.`;
const sha256Hex = async (s: string): Promise<string> => (await import('node:crypto')).createHash('sha256').update(s).digest('hex');

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

// HASHCHECK_BENCH_HTTP_HUGEPAGES=1: instance B runs with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, so
// glibc asks for transparent huge pages (madvise) for the index's large typed arrays: far fewer TLB
// misses in the random accesses of lookups (see docs/performance.md). Needs THP "madvise" or "always".
const HUGEPAGES = process.env.HASHCHECK_BENCH_HTTP_HUGEPAGES === '1';

async function startInstance(name: string, extraEnv: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; readyMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services/hash-check/src/main.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers,
      MONGODB_URI: mongoUri,
      MONGODB_DATABASE: db,
      KAFKA_TOPIC_PREFIX: prefix,
      HASH_LIST_SECRET: SECRET,
      HASH_CHECK_BOOTSTRAP_KEYS: `bench:admin:${await sha256Hex(adminKey)}`,
      RATE_LIMIT_PER_MINUTE: '1000000',
      PORT: String(port),
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((done, fail) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      // The engine's own account of the start-up load.
      const loaded = /"lists":(\d+),"entries":(\d+),"ms":(\d+),"readMs":(\d+),"indexMs":(\d+),"msg":"hash lists loaded"/.exec(buf);
      if (loaded && !buf.includes('#reported')) {
        buf += '#reported';
        log(`${name}: engine loaded ${loaded[2]} entries of ${loaded[1]} lists in ${loaded[3]} ms (reading, decrypting, packing ${loaded[4]} ms; indexing ${loaded[5]} ms)`);
      }
      if (buf.includes('"msg":"listening"')) done();
    });
    child.on('exit', (code) => fail(new Error(`${name} exited with ${code}`)));
  });
  child.stdout?.resume();
  return { url, child, readyMs: performance.now() - t0 };
}


async function api(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const TYPES = ['md5', 'sha1', 'sha256'] as const;
const BYTES = { md5: 16, sha1: 20, sha256: 32 } as const;
// Deterministic hashes: entry i of the exact list is type TYPES[i % 3] with bytes from a counter hash.
function exactHash(i: number): { type: (typeof TYPES)[number]; hash: string } {
  const type = TYPES[i % 3] as (typeof TYPES)[number];
  const b = Buffer.alloc(32);
  b.writeUInt32BE(i, 0);
  b.writeUInt32BE(0x9e3779b9, 4);
  const h = (Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, '0');
  return { type, hash: (h + b.toString('hex') + h).slice(0, BYTES[type] * 2) };
}

/** The NDJSON list file, pre-built in 64 KB pieces so the timing measures the service, not the generator. */
function ndjsonPieces(n: number): string[] {
  const out: string[] = [];
  let batch = '';
  for (let i = 0; i < n; i++) {
    const { type, hash } = exactHash(i);
    batch += `{"type":"${type}","hash":"${hash}"}\n`;
    if (batch.length > 65536) {
      out.push(batch);
      batch = '';
    }
  }
  if (batch) out.push(batch);
  return out;
}

function pdqPieces(n: number): string[] {
  const out: string[] = [];
  const lines = 1000;
  for (let i = 0; i < n; i += lines) {
    const k = Math.min(lines, n - i);
    const hex = randomBytes(32 * k).toString('hex');
    let batch = '';
    for (let j = 0; j < k; j++) batch += `${hex.slice(j * 64, j * 64 + 64)}\n`;
    out.push(batch);
  }
  return out;
}

async function importStream(url: string, list: string, query: string, contentType: string, pieces: string[]): Promise<{ ms: number; release: { counts: unknown; errorCount: number } }> {
  const t0 = performance.now();
  const body = Readable.toWeb(Readable.from(pieces)) as unknown as ReadableStream<Uint8Array>;
  const res = await fetch(`${url}/v1/lists/${list}/releases?activate=true&${query}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': contentType }, body, duplex: 'half' } as RequestInit);
  const text = await res.text();
  if (res.status !== 201) throw new Error(`import ${list}: ${res.status} ${text.slice(0, 300)}`);
  return { ms: performance.now() - t0, release: (JSON.parse(text) as { release: { counts: unknown; errorCount: number } }).release };
}

// --- 1. import over HTTP
const a = await startInstance('instance A');
log(`instance A up in ${a.readyMs.toFixed(0)} ms`);
await api(a.url, 'POST', '/v1/lists', { id: 'bench-exact', name: 'Bench exact', source: 'other', category: 'bench', owner: 'bench' });
await api(a.url, 'POST', '/v1/lists', { id: 'bench-pdq', name: 'Bench PDQ', source: 'other', category: 'bench', owner: 'bench', threshold: 31 });
const exactFile = ndjsonPieces(N);
const pdqFile = pdqPieces(N);
log(`list files built: ${(exactFile.reduce((x, p) => x + p.length, 0) / 2 ** 20).toFixed(0)} MB NDJSON, ${(pdqFile.reduce((x, p) => x + p.length, 0) / 2 ** 20).toFixed(0)} MB text`);
const impExact = await importStream(a.url, 'bench-exact', 'format=ndjson', 'application/x-ndjson', exactFile);
log(`imported ${N} exact hashes (NDJSON) in ${(impExact.ms / 1000).toFixed(1)} s: ${JSON.stringify(impExact.release.counts)}`);
const impPdq = await importStream(a.url, 'bench-pdq', 'format=text&type=pdq', 'text/plain', pdqFile);
exactFile.length = 0;
pdqFile.length = 0;
log(`imported ${N} PDQ hashes (text) in ${(impPdq.ms / 1000).toFixed(1)} s`);
a.child.kill('SIGTERM');

// --- 2. a fresh instance loads both lists from the database
const b = await startInstance(HUGEPAGES ? 'instance B (huge pages)' : 'instance B', HUGEPAGES ? { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' } : {});
log(`instance B loaded ${2 * N} hashes and was listening after ${(b.readyMs / 1000).toFixed(1)} s (process start included)`);
const status = (await api(b.url, 'GET', '/v1/status')) as { index: { bytes: number; types: Record<string, { entries: number }> } };
log(`instance B index: ${JSON.stringify(status.index.types)}, ${(status.index.bytes / 2 ** 20).toFixed(0)} MiB in typed arrays`);
if (HUGEPAGES) {
  const huge = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync(`/proc/${b.child.pid}/smaps_rollup`, 'utf8'));
  log(`instance B: ${huge ? (Number(huge[1]) / 1024).toFixed(0) : '?'} MiB in transparent huge pages`);
}
await api(b.url, 'POST', '/v1/tenants', { id: 'bench-host', name: 'Bench host', kind: 'hosting', rateLimitPerMinute: 1_000_000 });
const checkerKey = ((await api(b.url, 'POST', '/v1/tenants/bench-host/keys', { name: 'bench', scopes: ['checker'] })) as { key: string }).key;

// --- 3. bulk check throughput
function bodies(pdqShare: number): string[] {
  const out: string[] = [];
  for (let r = 0; r < 16; r++) {
    const items: { type: string; hash: string }[] = [];
    for (let i = 0; i < ITEMS; i++) {
      if (pdqShare > 0 && i % Math.round(1 / pdqShare) === 0) items.push({ type: 'pdq', hash: randomBytes(32).toString('hex') });
      else if (HIT_EVERY > 0 && i % HIT_EVERY === 1) items.push(exactHash(Math.floor(Math.random() * N))); // present
      else {
        const type = TYPES[i % 3] as (typeof TYPES)[number];
        items.push({ type, hash: randomBytes(BYTES[type]).toString('hex') });
      }
    }
    out.push(JSON.stringify({ items }));
  }
  return out;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in clock ticks of 1/100 s
  } catch {
    return Number.NaN;
  }
}

/**
 * Sends the requests for `seconds`; hashes per second of wall clock and per CPU-second of the
 * server process `pid` (on a shared machine the wall-clock figure follows the other tenants' load,
 * the per-CPU-second one much less).
 */
async function load(url: string, key: string, reqs: string[], seconds: number, pid?: number): Promise<{ hashesPerS: number; hashesPerCpuS: number; requests: number; matches: number }> {
  const cpu0 = cpuSeconds(pid);
  const deadline = performance.now() + seconds * 1000;
  let requests = 0;
  let matches = 0;
  const t0 = performance.now();
  const lane = async (k: number): Promise<void> => {
    let j = k;
    while (performance.now() < deadline) {
      const res = await fetch(`${url}/v1/check`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: reqs[j++ % reqs.length] });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`check: ${res.status} ${text.slice(0, 200)}`);
      const parsed = JSON.parse(text) as { results: { match?: boolean }[] };
      if (parsed.results.length !== ITEMS) throw new Error('wrong number of results');
      for (const r of parsed.results) if (r.match) matches++;
      requests++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_v, k) => lane(k)));
  const s = (performance.now() - t0) / 1000;
  return { hashesPerS: (requests * ITEMS) / s, hashesPerCpuS: (requests * ITEMS) / (cpuSeconds(pid) - cpu0), requests, matches };
}

const exactBodies = bodies(0);
await load(b.url, checkerKey, exactBodies, 2); // warm-up
const svc = await load(b.url, checkerKey, exactBodies, SECONDS, b.child.pid);
log(`service, exact mix: ${Math.round(svc.hashesPerS).toLocaleString('en-US')} hashes/s, ${Math.round(svc.hashesPerCpuS).toLocaleString('en-US')} per CPU-second of the service (${svc.requests} requests, ${svc.matches} matches); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const mixedBodies = bodies(0.01);
await load(b.url, checkerKey, mixedBodies, 1); // warm-up of the PDQ path
const svcPdq = await load(b.url, checkerKey, mixedBodies, SECONDS, b.child.pid);
log(`service, exact + 1% PDQ: ${Math.round(svcPdq.hashesPerS).toLocaleString('en-US')} hashes/s, ${Math.round(svcPdq.hashesPerCpuS).toLocaleString('en-US')} per CPU-second of the service (${svcPdq.requests} requests); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
b.child.kill('SIGTERM');

const echo = spawn(process.execPath, ['--import', 'tsx', join(here, 'echo-server.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
children.push(echo);
const echoUrl = await new Promise<string>((done) => echo.stdout?.once('data', (d: Buffer) => done(d.toString().trim())));
await load(echoUrl, 'x', exactBodies, 2);
const base = await load(echoUrl, 'x', exactBodies, SECONDS, echo.pid);
log(`echo baseline: ${Math.round(base.hashesPerS).toLocaleString('en-US')} hashes/s, ${Math.round(base.hashesPerCpuS).toLocaleString('en-US')} per CPU-second of the echo server; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
echo.kill('SIGTERM');

const round3 = (v: number): number => Number(v.toPrecision(3));
console.log(
  JSON.stringify({
    results: [
      { name: `hash-check bulk HTTP check, 10k exact hashes/request (1% present), 2.8M loaded, one instance${HUGEPAGES ? ' (huge pages)' : ''} (baseline: parse+echo endpoint)`, value: Math.round(svc.hashesPerS), unit: 'hashes/s', baseline: Math.round(base.hashesPerS), ratio: round3(svc.hashesPerS / base.hashesPerS) },
      { name: `hash-check bulk HTTP check, 10k hashes/request with 1% PDQ${HUGEPAGES ? ' (huge pages)' : ''}`, value: Math.round(svcPdq.hashesPerS), unit: 'hashes/s', baseline: Math.round(base.hashesPerS), ratio: round3(svcPdq.hashesPerS / base.hashesPerS) },
      { name: `hash-check bulk HTTP check, 10k exact hashes/request, per CPU-second of the service process${HUGEPAGES ? ' (huge pages)' : ''} (baseline: echo server per CPU-second)`, value: Math.round(svc.hashesPerCpuS), unit: 'hashes/s', baseline: Math.round(base.hashesPerCpuS), ratio: round3(svc.hashesPerCpuS / base.hashesPerCpuS) },
      { name: `hash-check bulk HTTP check, 10k hashes/request with 1% PDQ, per CPU-second of the service process${HUGEPAGES ? ' (huge pages)' : ''} (baseline: exact-only requests per CPU-second)`, value: Math.round(svcPdq.hashesPerCpuS), unit: 'hashes/s', baseline: Math.round(svc.hashesPerCpuS), ratio: round3(svcPdq.hashesPerCpuS / svc.hashesPerCpuS) },
      { name: 'hash-check import 1.4M exact hashes over HTTP (NDJSON, sealed chunks, activated)', value: round3(impExact.ms / 1000), unit: 's' },
      { name: 'hash-check import 1.4M PDQ hashes over HTTP (text, sealed chunks, activated)', value: round3(impPdq.ms / 1000), unit: 's' },
      { name: 'hash-check instance start with 1.4M exact + 1.4M PDQ from MongoDB-wire storage (until listening)', value: round3(b.readyMs / 1000), unit: 's' },
    ],
  }),
);
// Leave nothing behind in the database server.
const { MongoClient } = await import('mongodb');
const cleanup = new MongoClient(mongoUri);
await cleanup.connect();
await cleanup.db(db).dropDatabase();
await cleanup.close();
process.exit(0);
