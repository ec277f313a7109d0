import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tailFile } from './child';
import { formatKafkaTemplate } from './kafka';
import { applyPatches, FERRETDB_MODULE, FERRETDB_PATCHES } from './ferretdb-patches';
import { checkGo, checkJava, checkMaven, startFailed } from './prereqs';

/** The versions the local stack runs. Artifacts are cached per version. */
export const VERSIONS = {
  kafka: '4.1.2',
  log4j: '2.24.3',
  ferretdb: '1.24.2',
  zipkin: '3.6.1',
} as const;

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.HASHCHECK_CACHE || join(homedir(), '.cache', 'hashcheck');
}

export type Log = (line: string) => void;

function fingerprint(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Produces `<cache>/<name>` once: `build` fills a private temp dir which is then renamed into
 * place, so concurrent starts (several test files, several engineers) never see half a download.
 * A `.complete` marker holds a fingerprint of the inputs; a changed pom or Go source rebuilds.
 */
async function cached(root: string, name: string, key: string, build: (dir: string) => Promise<void>): Promise<{ dir: string; hit: boolean }> {
  const dir = join(root, name);
  const marker = join(dir, '.complete');
  if (readIfExists(marker) === key) return { dir, hit: true };
  mkdirSync(root, { recursive: true });
  const tmp = join(root, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  try {
    await build(tmp);
    writeFileSync(join(tmp, '.complete'), key);
    if (readIfExists(marker) === key) return { dir, hit: false }; // someone else won the race
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (readIfExists(marker) !== key) throw err;
    }
    return { dir, hit: false };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs a build tool with its output in a log file; rejects with the log's tail. */
function runTool(component: string, command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; timeoutMs: number }): Promise<void> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, 'w');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(startFailed(component, `could not run ${command}: ${err.message}`, opts.logFile, '', err));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, timeout ${opts.timeoutMs} ms` : ''})` : `exited with code ${code}`;
      reject(startFailed(component, `preparation failed: \`${command} ${args.join(' ')}\` ${why}`, opts.logFile, tailFile(opts.logFile, 30)));
    });
  });
}

const MAVEN_TIMEOUT_MS = 10 * 60_000;
const GO_TIMEOUT_MS = 15 * 60_000;

async function mavenCopy(component: string, pom: string, props: Record<string, string>, outDir: string, root: string, env: NodeJS.ProcessEnv): Promise<void> {
  const mvn = checkMaven(env);
  const args = [
    '-B', '-q', '-f', pom,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${outDir}`,
    '-DincludeScope=runtime',
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
  ];
  await runTool(component, mvn, args, { cwd: dirname(pom), env, logFile: join(root, 'logs', `mvn-${component}.log`), timeoutMs: MAVEN_TIMEOUT_MS });
}

export interface Artifact {
  dir: string;
  /** false when this call downloaded or built it. */
  cached: boolean;
  ms: number;
}

/**
 * Kafka's jars (and the log4j2 slf4j binding) from Maven Central into `<cache>/kafka-<version>/libs`,
 * plus a formatted KRaft storage directory that every start copies.
 */
export async function prepareKafka(env: NodeJS.ProcessEnv = process.env, log: Log = () => undefined): Promise<Artifact> {
  const t0 = Date.now();
  const root = cacheRoot(env);
  const pom = join(PACKAGE_DIR, 'kafka', 'pom.xml');
  const key = fingerprint(VERSIONS.kafka, VERSIONS.log4j, readFileSync(pom, 'utf8'), 'formatted-storage-v1');
  const { dir, hit } = await cached(root, `kafka-${VERSIONS.kafka}`, key, async (tmp) => {
    log(`downloading Apache Kafka ${VERSIONS.kafka} jars from Maven Central (once) ...`);
    await mavenCopy('kafka', pom, { 'kafka.version': VERSIONS.kafka, 'log4j.version': VERSIONS.log4j }, join(tmp, 'libs'), root, env);
    if (!readdirSync(join(tmp, 'libs')).some((f) => f.startsWith(`kafka_2.13-${VERSIONS.kafka}`))) {
      throw startFailed('kafka', `preparation failed: Maven did not produce kafka_2.13-${VERSIONS.kafka}.jar`, undefined, '');
    }
    await formatKafkaTemplate(checkJava(env), tmp);
  });
  return { dir, cached: hit, ms: Date.now() - t0 };
}

/** The Zipkin server exec jar from Maven Central into `<cache>/zipkin-<version>/zipkin-server-exec.jar`. */
export async function prepareZipkin(env: NodeJS.ProcessEnv = process.env, log: Log = () => undefined): Promise<Artifact> {
  const t0 = Date.now();
  const root = cacheRoot(env);
  const pom = join(PACKAGE_DIR, 'zipkin', 'pom.xml');
  const key = fingerprint(VERSIONS.zipkin, readFileSync(pom, 'utf8'));
  const { dir, hit } = await cached(root, `zipkin-${VERSIONS.zipkin}`, key, async (tmp) => {
    log(`downloading Zipkin server ${VERSIONS.zipkin} from Maven Central (once) ...`);
    await mavenCopy('zipkin', pom, { 'zipkin.version': VERSIONS.zipkin, 'mdep.stripVersion': 'true' }, tmp, root, env);
    if (!existsSync(join(tmp, 'zipkin-server-exec.jar'))) {
      throw startFailed('zipkin', 'preparation failed: Maven did not produce zipkin-server-exec.jar', undefined, '');
    }
  });
  return { dir, cached: hit, ms: Date.now() - t0 };
}

export const FERRETDB_BINARY = 'ferretdb-wrapper';

function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.mode | 0o200);
  if (st.isDirectory()) for (const entry of readdirSync(path)) makeWritable(join(path, entry));
}

/**
 * Builds the FerretDB wrapper (libs/stack/ferretdb) with the Go toolchain into `<cache>/ferretdb-<version>/`.
 * FerretDB's source comes from the Go module proxy; FERRETDB_PATCHES are applied to a copy of it, and
 * the wrapper is built against that copy (`go mod edit -replace`).
 */
export async function prepareFerretDB(env: NodeJS.ProcessEnv = process.env, log: Log = () => undefined): Promise<Artifact> {
  const t0 = Date.now();
  const root = cacheRoot(env);
  const src = join(PACKAGE_DIR, 'ferretdb');
  // The wrapper's sources (tests excluded: they are not built into it).
  const files = ['main.go', 'go.mod', 'go.sum', ...readdirSync(join(src, 'sqliteopts')).filter((f) => f.endsWith('.go') && !f.endsWith('_test.go')).map((f) => join('sqliteopts', f))];
  const key = fingerprint(VERSIONS.ferretdb, ...files.map((f) => readFileSync(join(src, f), 'utf8')), JSON.stringify(FERRETDB_PATCHES));
  const { dir, hit } = await cached(root, `ferretdb-${VERSIONS.ferretdb}`, key, async (tmp) => {
    const { go, buildEnv } = checkGo(env);
    log(`building FerretDB ${VERSIONS.ferretdb} from the Go module proxy (once, a few minutes on 2 cores) ...`);
    const work = join(tmp, 'build');
    mkdirSync(work, { recursive: true });
    for (const f of files) {
      mkdirSync(dirname(join(work, f)), { recursive: true });
      copyFileSync(join(src, f), join(work, f));
    }
    const goEnv = { ...buildEnv, CGO_ENABLED: '0' };
    const logFile = join(root, 'logs', 'go-build-ferretdb.log');
    const run = (args: string[]) => runTool('ferretdb', go, args, { cwd: work, env: goEnv, logFile, timeoutMs: GO_TIMEOUT_MS });
    await run(['mod', 'download', `${FERRETDB_MODULE}@v${VERSIONS.ferretdb}`]);
    const info = spawnSync(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@v${VERSIONS.ferretdb}`], { cwd: work, env: goEnv, encoding: 'utf8' });
    const moduleDir = info.status === 0 ? (JSON.parse(info.stdout) as { Dir?: string }).Dir : undefined;
    if (!moduleDir) throw startFailed('ferretdb', `preparation failed: \`go mod download -json\` gave no module directory (${info.stderr?.trim() ?? ''})`, logFile, '');
    // The module cache is read-only; the copy must be writable (to patch it, and to delete it afterwards).
    const copy = join(work, 'ferretdb');
    cpSync(moduleDir, copy, { recursive: true });
    makeWritable(copy);
    for (const file of new Set(FERRETDB_PATCHES.map((p) => p.file))) {
      const path = join(copy, file);
      writeFileSync(path, applyPatches(file, readFileSync(path, 'utf8')));
    }
    await run(['mod', 'edit', `-replace=${FERRETDB_MODULE}=./ferretdb`]);
    await run(['build', '-trimpath', '-buildvcs=false', '-o', join(tmp, FERRETDB_BINARY), '.']);
    rmSync(work, { recursive: true, force: true });
  });
  return { dir, cached: hit, ms: Date.now() - t0 };
}
