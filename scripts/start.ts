/**
 * `npm start`: the whole system on this machine. Brings up the local stack (or uses KAFKA_BROKERS /
 * MONGODB_URI when set), starts the four services, waits until each reports ready, seeds a small
 * demo, and prints where everything is. Ctrl-C stops it all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '@hashcheck/stack';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const SERVICES = [
  { name: 'intake', port: 8081 },
  { name: 'hash-check', port: 8082 },
  { name: 'notification', port: 8083 },
  { name: 'enforcement', port: 8084 },
] as const;

async function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
  });
}

async function choosePort(preferred: number): Promise<number> {
  if (await portFree(preferred)) return preferred;
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => ok(typeof addr === 'object' && addr ? addr.port : preferred));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = await res.text();
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready after ${timeoutMs / 1000} s: ${last}`);
}

const children: Array<{ name: string; child: ChildProcess }> = [];
let stack: Stack | undefined;
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  console.log('\nstopping…');
  await Promise.all(
    children.map(({ child }) =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => { clearTimeout(kill); done(); });
        child.kill('SIGTERM');
      }),
    ),
  );
  await stack?.stop().catch((err: Error) => console.error(`stack stop failed: ${err.message}`));
  console.log('stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

const t0 = Date.now();
try {
  stack = await startStack({ zipkin: true });
} catch (err) {
  console.error(`could not start the local stack: ${(err as Error).message}`);
  process.exit(1);
}
console.log(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const logDir = join(stack.logDir, 'services');
mkdirSync(logDir, { recursive: true });
// Local demo credentials, random per run unless already set (the local stack's data is temporary
// too): services get them through the environment, and scripts/seed-demo.ts signs in with
// HASHCHECK_DEMO_KEY.
process.env.HASHCHECK_DEMO_KEY ??= randomBytes(24).toString('hex');
const demoKey = process.env.HASHCHECK_DEMO_KEY;
const demoKeyHash = createHash('sha256').update(demoKey).digest('hex');
process.env.PROVIDER_SECRET_KEY ??= `demo:${randomBytes(32).toString('hex')}`;
process.env.INTAKE_API_KEYS ??= `demo:admin+hotline:${demoKeyHash}`;
process.env.HASH_CHECK_BOOTSTRAP_KEYS ??= `demo:admin+hotline+checker:${demoKeyHash}`;
process.env.NOTIFICATION_API_KEYS ??= `demo:admin+case-officer:${demoKeyHash}`;
process.env.ADMIN_API_KEY ??= demoKey;
process.env.HASH_LIST_SECRET ??= `local:${randomBytes(32).toString('hex')}`;
// The demo provider's webhook receiver runs on this machine, over plain HTTP.
process.env.WEBHOOK_ALLOW_HTTP ??= 'true';
process.env.WEBHOOK_ALLOWED_ADDRESSES ??= '127.0.0.1/32';
process.env.NOTICE_WINDOW_MS ??= '5000';

const common: NodeJS.ProcessEnv = {
  ...process.env,
  KAFKA_BROKERS: stack.kafkaBrokers,
  MONGODB_URI: stack.mongoUri,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  ...(stack.zipkinUrl
    ? { OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER ?? 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${stack.zipkinUrl}/api/v2/spans` }
    : {}),
  // No collector runs locally: metrics and logs are not exported unless asked for (e.g. OTEL_METRICS_EXPORTER=prometheus).
  OTEL_METRICS_EXPORTER: process.env.OTEL_METRICS_EXPORTER ?? 'none',
  OTEL_LOGS_EXPORTER: process.env.OTEL_LOGS_EXPORTER ?? 'none',
};

const running: Array<{ name: string; url: string; log: string }> = [];
try {
  for (const svc of SERVICES) {
    const port = await choosePort(svc.port);
    const log = join(logDir, `${svc.name}.log`);
    const out = createWriteStream(log, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', '@hashcheck/telemetry/register', join(root, 'services', svc.name, 'src', 'main.ts')], {
      cwd: root,
      env: { ...common, PORT: String(port), HOST: '127.0.0.1', OTEL_SERVICE_NAME: `hashcheck-${svc.name}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        console.error(`${svc.name} exited (${signal ?? code}); see ${log}`);
        void stopAll(1);
      }
    });
    children.push({ name: svc.name, child });
    running.push({ name: svc.name, url: `http://127.0.0.1:${port}`, log });
  }
  await Promise.all(
    running.map((r, i) =>
      waitReady(`${r.url}/health/ready`, children[i]!.child, 90_000).catch((err: Error) => {
        throw new Error(`${r.name} ${err.message}; see ${r.log}`);
      }),
    ),
  );
} catch (err) {
  console.error(`start failed: ${(err as Error).message}`);
  await stopAll(1);
}

const seedScript = join(root, 'scripts', 'seed-demo.ts');
try {
  const { seedDemo } = (await import(seedScript)) as { seedDemo?: (urls: Record<string, string>, stack: Stack) => Promise<string[]> };
  if (seedDemo) {
    const lines = await seedDemo(Object.fromEntries(running.map((r) => [r.name, r.url])), stack);
    for (const l of lines) console.log(l);
  }
} catch (err) {
  if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') console.error(`demo seed failed: ${(err as Error).message}`);
}

console.log(`\nHashCheck is running (${((Date.now() - t0) / 1000).toFixed(1)} s).\n`);
console.log(`  kafka      ${stack.kafkaBrokers}`);
console.log(`  mongodb    ${stack.mongoUri}`);
if (stack.zipkinUrl) console.log(`  traces     ${stack.zipkinUrl}/zipkin/`);
for (const r of running) console.log(`  ${r.name.padEnd(12)} ${r.url}  (ready: ${r.url}/health/ready, API: ${r.url}/openapi.json, log: ${r.log})`);
console.log(`  stack logs ${stack.logDir}`);
console.log(`  API key    ${demoKey}  (local demo key: admin on every service, hotline, checker on hash-check)`);
console.log('\nPress Ctrl-C to stop everything.');
