import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';

/** Stable code for "a tool the local stack needs is not installed". */
export const PREREQ_MISSING = 'HC_STACK_PREREQ_MISSING';

export const INSTALL_HINT =
  'Run `sudo bash scripts/install-prereqs.sh` (Debian/Ubuntu: installs openjdk-17-jdk-headless, maven and a Go toolchain), ' +
  'or install them yourself: `apt-get install -y openjdk-17-jdk-headless maven golang` (Go must be >= 1.21; it fetches the ' +
  'Go 1.24 toolchain FerretDB needs from the Go module proxy). Or point KAFKA_BROKERS / MONGODB_URI at existing servers.';

const HINTS = {
  java: 'java (JDK 17+) is needed to run Apache Kafka and Zipkin: `apt-get install -y openjdk-17-jdk-headless`',
  mvn: 'mvn (Apache Maven) is needed once, to download the Kafka/Zipkin jars from Maven Central: `apt-get install -y maven`',
  go: 'go (>= 1.21) is needed once, to build the FerretDB wrapper from the Go module proxy: `apt-get install -y golang` ' +
    '(Debian 12: `apt-get install -y -t bookworm-backports golang-1.23-go`, then put /usr/lib/go-1.23/bin on PATH)',
} as const;

export type Tool = keyof typeof HINTS;

/** Finds an executable on a PATH string, like `command -v`. */
export function findOnPath(name: string, pathEnv: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function missing(tool: Tool, why: string): HashCheckError {
  return new HashCheckError(PREREQ_MISSING, `Local stack: ${why}.\n  ${HINTS[tool]}\n  ${INSTALL_HINT}`, {
    details: { missing: tool },
  });
}

/** Major version from `java -version` output (`openjdk version "17.0.15"`, `"1.8.0_392"`). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!m?.[1]) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] ? Number(m[2]) : first;
}

/** `[major, minor]` from `go version` output (`go version go1.26.8 linux/amd64`). */
export function parseGoVersion(versionOutput: string): [number, number] | undefined {
  const m = /go(\d+)\.(\d+)/.exec(versionOutput.replace(/^go version /, ''));
  if (!m?.[1] || !m[2]) return undefined;
  return [Number(m[1]), Number(m[2])];
}

/** Returns the java executable, or throws a HashCheckError naming what is missing and how to install it. */
export function checkJava(env: NodeJS.ProcessEnv = process.env): string {
  const javaHome = env.JAVA_HOME ? findOnPath('java', join(env.JAVA_HOME, 'bin')) : undefined;
  const java = javaHome ?? findOnPath('java', env.PATH);
  if (!java) return fail(missing('java', 'java was not found on PATH' + (env.JAVA_HOME ? ` nor in JAVA_HOME=${env.JAVA_HOME}` : '')));
  const res = spawnSync(java, ['-version'], { encoding: 'utf8', env });
  const major = parseJavaMajor(`${res.stderr ?? ''}${res.stdout ?? ''}`);
  if (major === undefined || major < 17) {
    return fail(missing('java', `${java} is Java ${major ?? '(unknown version)'}, Kafka 4 and Zipkin 3 need Java 17 or newer`));
  }
  return java;
}

export function checkMaven(env: NodeJS.ProcessEnv = process.env): string {
  const mvn = findOnPath('mvn', env.PATH);
  if (!mvn) return fail(missing('mvn', 'mvn was not found on PATH (needed because the jars are not cached yet)'));
  return mvn;
}

/** Returns go and the environment to build with (GOTOOLCHAIN=auto when this go is older than FerretDB needs). */
export function checkGo(env: NodeJS.ProcessEnv = process.env): { go: string; buildEnv: NodeJS.ProcessEnv } {
  const go = findOnPath('go', env.PATH);
  if (!go) return fail(missing('go', 'go was not found on PATH (needed because the FerretDB wrapper is not built yet)'));
  const res = spawnSync(go, ['version'], { encoding: 'utf8', env });
  const v = parseGoVersion(res.stdout ?? '');
  if (!v || v[0] !== 1 || v[1] < 21) {
    return fail(missing('go', `${go} is ${res.stdout?.trim() || 'of unknown version'}; Go >= 1.21 is needed to fetch the Go 1.24 toolchain`));
  }
  // FerretDB 1.24 needs Go 1.24; an older (>= 1.21) go downloads that toolchain from the module proxy
  // with GOTOOLCHAIN=auto, which distributions often switch off (GOTOOLCHAIN=local).
  const buildEnv = v[1] < 24 ? { ...env, GOTOOLCHAIN: 'auto' } : env;
  return { go, buildEnv };
}

function fail(err: HashCheckError): never {
  throw err;
}

/** Error for a component that did not come up; carries the tail of its log. */
export function startFailed(component: string, reason: string, logFile: string | undefined, logTail: string, cause?: unknown): HashCheckError {
  const where = logFile ? `\n  log: ${logFile}` : '';
  const tail = logTail.trim() ? `\n  --- last lines of the log ---\n${logTail.trimEnd().replace(/^/gm, '  | ')}` : '';
  return new HashCheckError(ErrorCode.STACK_START_FAILED, `Local stack: ${component} ${reason}${where}${tail}`, {
    cause,
    details: { component, logFile },
  });
}
