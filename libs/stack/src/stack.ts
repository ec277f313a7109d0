import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HashCheckError } from '@hashcheck/errors';
import { FERRETDB_BINARY, VERSIONS, cacheRoot, prepareFerretDB, prepareKafka, prepareZipkin } from './artifacts';
import type { Artifact, Log } from './artifacts';
import { trackTempDir } from './child';
import { LocalKafka } from './kafka';
import { LocalMongo, MongoKind } from './mongo';
import type { MongoKindValue } from './mongo';
import { checkJava, findOnPath } from './prereqs';
import { LocalZipkin, zipkinOtelEnv } from './zipkin';

export const MongoMode = { AUTO: 'auto', MONGOD: 'mongod', FERRETDB: 'ferretdb' } as const;
export type MongoModeValue = (typeof MongoMode)[keyof typeof MongoMode];

/** Stable code for killKafka()/restartMongo()... on a part the stack did not start (env override). */
export const NOT_MANAGED = 'HC_STACK_NOT_MANAGED';

export interface StartStackOptions {
  /** Also start the Zipkin trace viewer (default false). `ZIPKIN_URL` in the environment overrides it. */
  zipkin?: boolean;
  /** `auto` (default; env HASHCHECK_MONGO): mongod when it is on PATH, else FerretDB. */
  mongo?: MongoModeValue;
  /** Where the log files go. Default `${HASHCHECK_CACHE:-~/.cache/hashcheck}/run/<timestamp>-<pid>/`. */
  runDir?: string;
  /** Per component readiness timeout (default 90 s; the machines have 2 shared cores). */
  startTimeoutMs?: number;
  /** Kafka JVM max heap in MiB (default 512). */
  kafkaHeapMb?: number;
  /** Environment to read overrides and tools from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Progress lines; default to stderr prefixed with `[stack]`; `false` silences them. */
  log?: Log | false;
  /**
   * Called when a part dies after it was ready without stop()/killKafka()/killMongo() asking for
   * it (a crash). Default: a line through `log`. A long-running launcher should exit non-zero.
   */
  onCrash?: (crash: StackCrash) => void;
}

export interface StackCrash {
  component: 'kafka' | 'mongo' | 'zipkin';
  /** e.g. "exited with code 1", "was killed by SIGKILL". */
  description: string;
  logFile: string;
}

export interface Stack {
  /** `127.0.0.1:PORT` (or KAFKA_BROKERS as given). */
  kafkaBrokers: string;
  /** `mongodb://127.0.0.1:PORT` (no trailing slash, no database; or MONGODB_URI as given). */
  mongoUri: string;
  /** Zipkin UI/API base, `http://127.0.0.1:PORT` (or ZIPKIN_URL as given); absent when not asked for. */
  zipkinUrl?: string;
  /** Directory holding kafka.log, ferretdb.log / mongod.log, zipkin.log. */
  logDir: string;
  /** Which MongoDB-wire server runs (`external` when MONGODB_URI was given). */
  mongoKind: MongoKindValue | 'external';
  /** Which parts this stack started (false: taken from the environment). */
  managed: { kafka: boolean; mongo: boolean; zipkin: boolean };
  /**
   * Process ids of what runs now (a part is absent when not managed or not running); for checks
   * and debugging. Optional so that other Stack implementations need not have processes.
   */
  pids?(): { kafka?: number; mongo?: number; zipkin?: number };
  /** Variables for a child service: KAFKA_BROKERS, MONGODB_URI, and with Zipkin ZIPKIN_URL + OTEL_* for the Zipkin exporter. */
  env(): Record<string, string>;
  /** Stops everything this stack started (SIGTERM, then SIGKILL after a grace period) and removes its data. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the broker; data and ports are kept. Throws HC_STACK_NOT_MANAGED with KAFKA_BROKERS. */
  killKafka(): Promise<void>;
  /** Start the broker again (same ports, same data), stopping it first if running; resolves when ready. */
  restartKafka(): Promise<void>;
  /** SIGKILL the database; data and port are kept. Throws HC_STACK_NOT_MANAGED with MONGODB_URI. */
  killMongo(): Promise<void>;
  /** Start the database again (same port, same data), stopping it first if running; resolves when ready. */
  restartMongo(): Promise<void>;
}

export interface PrepareStackOptions {
  zipkin?: boolean;
  mongo?: MongoModeValue;
  env?: NodeJS.ProcessEnv;
  log?: Log | false;
}

export interface PrepareResult {
  kafka?: Artifact;
  ferretdb?: Artifact;
  zipkin?: Artifact;
  ms: number;
}

function logger(opt: Log | false | undefined): Log {
  if (opt === false) return () => undefined;
  return opt ?? ((line) => process.stderr.write(`[stack] ${line}\n`));
}

interface Plan {
  env: NodeJS.ProcessEnv;
  kafka: boolean;
  mongo: MongoKindValue | undefined;
  zipkin: boolean;
}

function plan(opts: { zipkin?: boolean; mongo?: MongoModeValue; env?: NodeJS.ProcessEnv }): Plan {
  const env = opts.env ?? process.env;
  const mode = (opts.mongo ?? env.HASHCHECK_MONGO ?? MongoMode.AUTO) as string;
  if (!Object.values(MongoMode).includes(mode as MongoModeValue)) {
    throw new HashCheckError('HC_CONFIG_INVALID', `HASHCHECK_MONGO must be one of auto, mongod, ferretdb (got "${mode}")`);
  }
  let mongo: MongoKindValue | undefined;
  if (!env.MONGODB_URI) {
    if (mode === MongoMode.MONGOD) mongo = MongoKind.MONGOD;
    else if (mode === MongoMode.FERRETDB) mongo = MongoKind.FERRETDB;
    else mongo = findOnPath('mongod', env.PATH) ? MongoKind.MONGOD : MongoKind.FERRETDB;
  }
  return { env, kafka: !env.KAFKA_BROKERS, mongo, zipkin: Boolean(opts.zipkin) && !env.ZIPKIN_URL };
}

async function prepare(p: Plan, log: Log): Promise<PrepareResult> {
  const t0 = Date.now();
  const result: PrepareResult = { ms: 0 };
  // Two Maven runs sharing ~/.m2 at once can trip over each other; the Go build runs alongside.
  const maven = (async () => {
    if (p.kafka) result.kafka = await prepareKafka(p.env, log);
    if (p.zipkin) result.zipkin = await prepareZipkin(p.env, log);
  })();
  const go = (async () => {
    if (p.mongo === MongoKind.FERRETDB) result.ferretdb = await prepareFerretDB(p.env, log);
  })();
  const settled = await Promise.allSettled([maven, go]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  result.ms = Date.now() - t0;
  return result;
}

/**
 * Downloads / builds everything `startStack` with the same options would need, and nothing else
 * (for CI warm-up). Honours KAFKA_BROKERS / MONGODB_URI / ZIPKIN_URL like startStack.
 */
export async function prepareStack(options: PrepareStackOptions = {}): Promise<PrepareResult> {
  const p = plan(options);
  const log = logger(options.log);
  if (p.mongo === MongoKind.MONGOD) checkMongod(p.env);
  const res = await prepare(p, log);
  log(`prepared in ${res.ms} ms (cache ${cacheRoot(p.env)})`);
  return res;
}

function checkMongod(env: NodeJS.ProcessEnv): string {
  const mongod = findOnPath('mongod', env.PATH);
  if (!mongod) {
    throw new HashCheckError('HC_STACK_PREREQ_MISSING', 'Local stack: HASHCHECK_MONGO=mongod but mongod is not on PATH (unset it to use FerretDB).', {
      details: { missing: 'mongod' },
    });
  }
  return mongod;
}

function defaultRunDir(env: NodeJS.ProcessEnv): string {
  const runs = join(cacheRoot(env), 'run');
  pruneRuns(runs);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join(runs, `${stamp}-${process.pid}`);
}

/** Keeps the 20 newest run directories (logs only; data lives in a temp dir). */
function pruneRuns(runs: string): void {
  try {
    const dirs = readdirSync(runs)
      .map((name) => ({ name, mtime: statSync(join(runs, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    const dayAgo = Date.now() - 24 * 3600_000;
    for (const d of dirs.slice(20)) if (d.mtime < dayAgo) rmSync(join(runs, d.name), { recursive: true, force: true });
  } catch {
    // nothing to prune
  }
}

function notManaged(what: string, variable: string): HashCheckError {
  return new HashCheckError(NOT_MANAGED, `Local stack: ${what} comes from ${variable}; the stack cannot kill or restart it.`);
}

/**
 * Starts what the environment does not already provide: Apache Kafka (KRaft, one node), a
 * MongoDB-wire server (mongod if on PATH, else FerretDB/SQLite) and, when asked, Zipkin; all on
 * free 127.0.0.1 ports. Resolves when every part answers; rejects with a HashCheckError
 * (HC_STACK_PREREQ_MISSING or HC_STACK_START_FAILED with the log's tail) after stopping what
 * did start.
 */
export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  // HASHCHECK_STACK=containers: the same parts as containers through testcontainers (containers.ts).
  if ((options.env ?? process.env).HASHCHECK_STACK === 'containers') {
    const { startContainerStack } = await import('./containers');
    return startContainerStack(options);
  }
  const t0 = Date.now();
  const p = plan(options);
  const log = logger(options.log);
  const timeoutMs = options.startTimeoutMs ?? 90_000;

  // Fail fast on missing tools, before downloading anything.
  const java = p.kafka || p.zipkin ? checkJava(p.env) : '';
  const mongod = p.mongo === MongoKind.MONGOD ? checkMongod(p.env) : undefined;
  const artifacts = await prepare(p, log);

  const logDir = options.runDir ?? defaultRunDir(p.env);
  mkdirSync(logDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'hashcheck-stack-'));
  const removeData = trackTempDir(dataDir);
  if (p.kafka || p.mongo || p.zipkin) log(`logs: ${logDir}`);

  const [kafkaRes, mongoRes, zipkinRes] = await Promise.allSettled([
    p.kafka && artifacts.kafka
      ? LocalKafka.start({ java, artifactDir: artifacts.kafka.dir, runDir: logDir, dataDir, heapMb: options.kafkaHeapMb ?? 512, timeoutMs, log })
      : Promise.resolve(undefined),
    p.mongo
      ? LocalMongo.start({
          kind: p.mongo,
          executable: mongod ?? join(artifacts.ferretdb?.dir ?? '', FERRETDB_BINARY),
          runDir: logDir,
          dataDir,
          timeoutMs,
          log,
        })
      : Promise.resolve(undefined),
    p.zipkin && artifacts.zipkin
      ? LocalZipkin.start({ java, artifactDir: artifacts.zipkin.dir, runDir: logDir, timeoutMs, log })
      : Promise.resolve(undefined),
  ]);
  const kafka = kafkaRes.status === 'fulfilled' ? kafkaRes.value : undefined;
  const mongo = mongoRes.status === 'fulfilled' ? mongoRes.value : undefined;
  const zipkin = zipkinRes.status === 'fulfilled' ? zipkinRes.value : undefined;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.allSettled([kafka?.stop(), mongo?.stop(), zipkin?.stop()]);
      removeData();
    })());

  const failure = [kafkaRes, mongoRes, zipkinRes].find((r) => r.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }

  const onCrash = options.onCrash ?? ((c: StackCrash) => log(`${c.component} ${c.description} (log: ${c.logFile})`));
  kafka?.onUnexpectedExit((description) => onCrash({ component: 'kafka', description, logFile: kafka.logFile }));
  mongo?.onUnexpectedExit((description) => onCrash({ component: 'mongo', description, logFile: mongo.logFile }));
  zipkin?.onUnexpectedExit((description) => onCrash({ component: 'zipkin', description, logFile: zipkin.logFile }));

  const kafkaBrokers = kafka?.brokers ?? p.env.KAFKA_BROKERS ?? '';
  const mongoUri = mongo?.uri ?? p.env.MONGODB_URI ?? '';
  const zipkinUrl = zipkin?.url ?? p.env.ZIPKIN_URL ?? undefined;
  if (p.kafka || p.mongo || p.zipkin) log(`ready in ${Date.now() - t0} ms`);

  const stack: Stack = {
    kafkaBrokers,
    mongoUri,
    logDir,
    mongoKind: mongo?.kind ?? 'external',
    managed: { kafka: Boolean(kafka), mongo: Boolean(mongo), zipkin: Boolean(zipkin) },
    pids() {
      const out: { kafka?: number; mongo?: number; zipkin?: number } = {};
      if (kafka?.running && kafka.pid !== undefined) out.kafka = kafka.pid;
      if (mongo?.running && mongo.pid !== undefined) out.mongo = mongo.pid;
      if (zipkin?.running && zipkin.pid !== undefined) out.zipkin = zipkin.pid;
      return out;
    },
    env() {
      const vars: Record<string, string> = { KAFKA_BROKERS: kafkaBrokers, MONGODB_URI: mongoUri };
      if (zipkinUrl) Object.assign(vars, { ZIPKIN_URL: zipkinUrl }, zipkinOtelEnv(zipkinUrl));
      return vars;
    },
    stop,
    async killKafka() {
      if (!kafka) throw notManaged('Kafka', 'KAFKA_BROKERS');
      await kafka.kill();
    },
    async restartKafka() {
      if (!kafka) throw notManaged('Kafka', 'KAFKA_BROKERS');
      await kafka.restart();
    },
    async killMongo() {
      if (!mongo) throw notManaged('MongoDB', 'MONGODB_URI');
      await mongo.kill();
    },
    async restartMongo() {
      if (!mongo) throw notManaged('MongoDB', 'MONGODB_URI');
      await mongo.restart();
    },
  };
  if (zipkinUrl !== undefined) stack.zipkinUrl = zipkinUrl;
  return stack;
}

export { VERSIONS };
