/**
 * The same infrastructure as `startStack()`, as containers started through testcontainers:
 * Apache Kafka (KRaft, one combined broker+controller), a MongoDB-wire server and, when asked,
 * Zipkin. Selected with HASHCHECK_STACK=containers (see startStack) or called directly.
 *
 * Images come from the environment: HASHCHECK_KAFKA_IMAGE (default apache/kafka:4.1.1),
 * HASHCHECK_MONGO_IMAGE (default mongo:8), HASHCHECK_ZIPKIN_IMAGE (default openzipkin/zipkin:3).
 * Where no registry is reachable, deploy/images/build-local.sh builds equivalent images
 * (hashcheck-local/*) from the artifacts the local stack uses; those run with host networking so
 * every connection stays on loopback (HASHCHECK_CONTAINER_NETWORK=host, the default for
 * hashcheck-local images), with Ryuk disabled (it is an image from a registry too).
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { HashCheckError } from '@hashcheck/errors';
// Types only: the module itself is imported lazily in startContainerStack.
import type * as Tc from 'testcontainers';
import type { Log } from './artifacts';
import { cacheRoot } from './artifacts';
import { freePort, tailFile } from './child';
import { probeKafka, randomClusterId } from './kafka';
import { MongoKind, probeMongo } from './mongo';
import type { MongoKindValue } from './mongo';
import { PREREQ_MISSING, startFailed } from './prereqs';
import type { Stack, StartStackOptions } from './stack';
import { probeZipkin, zipkinOtelEnv } from './zipkin';

export const DEFAULT_IMAGES = {
  kafka: 'apache/kafka:4.1.1',
  mongo: 'mongo:8',
  zipkin: 'openzipkin/zipkin:3',
} as const;

export const ContainerNetwork = { HOST: 'host', BRIDGE: 'bridge' } as const;
export type ContainerNetworkValue = (typeof ContainerNetwork)[keyof typeof ContainerNetwork];

/** Every container this module starts carries this label, so a CI script can remove leftovers. */
export const STACK_LABEL = 'org.hashcheck.stack';
/** Images built by deploy/images/build-local.sh set this label to `ferretdb`. */
const MONGO_KIND_LABEL = 'org.hashcheck.mongo-kind';
const LOCAL_IMAGE_PREFIX = 'hashcheck-local/';

export interface ContainerStackSettings {
  images: { kafka: string; mongo: string; zipkin: string };
  network: ContainerNetworkValue;
}

/** Images and network mode from the environment (pure; exported for tests). */
export function containerSettings(env: NodeJS.ProcessEnv = process.env): ContainerStackSettings {
  const images = {
    kafka: env.HASHCHECK_KAFKA_IMAGE || DEFAULT_IMAGES.kafka,
    mongo: env.HASHCHECK_MONGO_IMAGE || DEFAULT_IMAGES.mongo,
    zipkin: env.HASHCHECK_ZIPKIN_IMAGE || DEFAULT_IMAGES.zipkin,
  };
  const requested = env.HASHCHECK_CONTAINER_NETWORK;
  if (requested !== undefined && requested !== '' && !Object.values(ContainerNetwork).includes(requested as ContainerNetworkValue)) {
    throw new HashCheckError('HC_CONFIG_INVALID', `HASHCHECK_CONTAINER_NETWORK must be host or bridge (got "${requested}")`);
  }
  // Locally built images stand in for a registry that cannot be reached: keep them off any bridge.
  const local = Object.values(images).some((i) => i.startsWith(LOCAL_IMAGE_PREFIX));
  const network = (requested || (local ? ContainerNetwork.HOST : ContainerNetwork.BRIDGE)) as ContainerNetworkValue;
  return { images, network };
}

/** The apache/kafka image's configuration variables for one combined KRaft node (pure; exported for tests). */
export function kafkaContainerEnv(p: { bindHost: string; advertisedHost: string; brokerPort: number; controllerPort: number; heapMb: number; clusterId: string }): Record<string, string> {
  return {
    CLUSTER_ID: p.clusterId,
    KAFKA_NODE_ID: '1',
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_LISTENERS: `PLAINTEXT://${p.bindHost}:${p.brokerPort},CONTROLLER://${p.bindHost}:${p.controllerPort}`,
    KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${p.advertisedHost}:${p.brokerPort}`,
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    KAFKA_CONTROLLER_QUORUM_VOTERS: `1@127.0.0.1:${p.controllerPort}`,
    KAFKA_LOG_DIRS: '/tmp/kraft-combined-logs',
    KAFKA_NUM_PARTITIONS: '1',
    KAFKA_DEFAULT_REPLICATION_FACTOR: '1',
    KAFKA_MIN_INSYNC_REPLICAS: '1',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '10',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    // Same as the local stack: services create their topics; auto-creation would hide a gap in the registry.
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    KAFKA_HEAP_OPTS: `-Xms${Math.min(256, p.heapMb)}m -Xmx${p.heapMb}m`,
  };
}

type Testcontainers = typeof Tc;
type StartedContainer = Awaited<ReturnType<InstanceType<Testcontainers['GenericContainer']>['start']>>;

interface Part {
  name: string;
  container: StartedContainer;
  logFile: string;
  ready: () => Promise<boolean>;
}

function logger(opt: Log | false | undefined): Log {
  if (opt === false) return () => undefined;
  return opt ?? ((line) => process.stderr.write(`[stack:containers] ${line}\n`));
}

async function poll(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 300): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}

/**
 * Starts Kafka, the MongoDB-wire server (and Zipkin) as containers; resolves when each answers
 * with the same `Stack` shape as startStack(). KAFKA_BROKERS / MONGODB_URI / ZIPKIN_URL in the
 * environment are used as given, like startStack. Rejects with HC_STACK_PREREQ_MISSING when no
 * container engine answers, HC_STACK_START_FAILED (with the container log's tail) otherwise.
 * Not (yet) supported here: `onCrash` (a container that dies is not reported; the tests using it
 * then fail on the unreachable part) and `mongo` (the image decides: HASHCHECK_MONGO_IMAGE).
 */
export async function startContainerStack(options: StartStackOptions = {}): Promise<Stack> {
  const t0 = Date.now();
  const env = options.env ?? process.env;
  const log = logger(options.log);
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const settings = containerSettings(env);
  const hostMode = settings.network === ContainerNetwork.HOST;
  if (hostMode) {
    // Ryuk is an image from a registry too; host mode is the no-registry mode. Containers are
    // removed by stop() and labelled for the CI script's clean-up instead.
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  }
  // Loaded lazily: the default (local processes) mode never touches the container runtime.
  const tc: Testcontainers = await import('testcontainers');
  let client: Awaited<ReturnType<Testcontainers['getContainerRuntimeClient']>>;
  try {
    client = await tc.getContainerRuntimeClient();
  } catch (err) {
    throw new HashCheckError(PREREQ_MISSING, `Containers stack: no container engine is reachable (${(err as Error).message}). Start one (see deploy/ci-containers.sh) or unset HASHCHECK_STACK.`, {
      cause: err,
      details: { missing: 'container engine' },
    });
  }
  const host = client.info.containerRuntime.host;
  const bindHost = hostMode ? '127.0.0.1' : '0.0.0.0';
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const logDir = options.runDir ?? join(cacheRoot(env), 'run', `containers-${runId}`);
  mkdirSync(logDir, { recursive: true });
  const streams: WriteStream[] = [];

  const container = (image: string, name: string, ports: number[]) => {
    const logFile = join(logDir, `${name}.log`);
    const stream = createWriteStream(logFile, { flags: 'a' });
    streams.push(stream);
    let c = new tc.GenericContainer(image)
      .withLabels({ [STACK_LABEL]: runId })
      .withName(`hashcheck-${name}-${runId}`)
      .withStartupTimeout(timeoutMs)
      .withLogConsumer((s) => s.pipe(stream, { end: false }));
    // Same port inside and outside: Kafka must advertise an address that works from the host.
    c = hostMode ? c.withNetworkMode('host') : c.withExposedPorts(...ports.map((p) => ({ container: p, host: p })));
    return { c, logFile, image };
  };
  const named = (name: string, image: string) => (err: Error): never => {
    throw new HashCheckError('HC_STACK_START_FAILED', `Containers stack: the ${name} container (image ${image}) did not start: ${err.message.trim()}`, { cause: err });
  };

  const wanted = { kafka: !env.KAFKA_BROKERS, mongo: !env.MONGODB_URI, zipkin: Boolean(options.zipkin) && !env.ZIPKIN_URL };
  const starts: Array<Promise<Part | undefined>> = [];
  let kafkaBrokers = env.KAFKA_BROKERS ?? '';
  let mongoUri = env.MONGODB_URI ?? '';
  let zipkinUrl = env.ZIPKIN_URL || undefined;
  let mongoKind: MongoKindValue | 'external' = 'external';

  if (wanted.kafka) {
    const [brokerPort, controllerPort] = [await freePort(), await freePort()];
    kafkaBrokers = `${host}:${brokerPort}`;
    const brokers = kafkaBrokers;
    const { c, logFile } = container(settings.images.kafka, 'kafka', [brokerPort]);
    const kenv = kafkaContainerEnv({ bindHost, advertisedHost: host, brokerPort, controllerPort, heapMb: options.kafkaHeapMb ?? 512, clusterId: randomClusterId() });
    starts.push(c.withEnvironment(kenv).start().catch(named('Kafka', settings.images.kafka)).then((container) => ({ name: 'Kafka', container, logFile, ready: () => probeKafka(brokers) })));
  }
  if (wanted.mongo) {
    const port = await freePort();
    mongoUri = `mongodb://${host}:${port}`;
    const uri = mongoUri;
    mongoKind = (await imageLabel(client, tc, settings.images.mongo, MONGO_KIND_LABEL)) === MongoKind.FERRETDB ? MongoKind.FERRETDB : MongoKind.MONGOD;
    const { c, logFile } = container(settings.images.mongo, 'mongo', [port]);
    // The official image's entrypoint and the local image's shim both take mongod flags.
    const cmd = ['mongod', '--port', String(port), '--bind_ip', bindHost, '--wiredTigerCacheSizeGB', '0.25'];
    starts.push(c.withCommand(cmd).start().catch(named('MongoDB', settings.images.mongo)).then((container) => ({ name: mongoKind, container, logFile, ready: () => probeMongo(uri, 1000) })));
  }
  if (wanted.zipkin) {
    const port = await freePort();
    zipkinUrl = `http://${host}:${port}`;
    const url = zipkinUrl;
    const { c, logFile } = container(settings.images.zipkin, 'zipkin', [port]);
    const args = hostMode ? [`--armeria.ports[0].ip=127.0.0.1`, `--armeria.ports[0].port=${port}`, '--armeria.ports[0].protocols[0]=http'] : [];
    starts.push(c.withEnvironment({ QUERY_PORT: String(port), STORAGE_TYPE: 'mem' }).withCommand(args).start().catch(named('Zipkin', settings.images.zipkin)).then((container) => ({ name: 'Zipkin', container, logFile, ready: () => probeZipkin(url) })));
  }
  if (starts.length > 0) log(`starting ${Object.entries(wanted).filter(([, w]) => w).map(([n]) => n).join(', ')} (${settings.network} network; logs ${logDir})`);

  const settled = await Promise.allSettled(starts);
  const parts = settled.flatMap((s) => (s.status === 'fulfilled' && s.value ? [s.value] : []));
  const byName = new Map(parts.map((p) => [p.name, p]));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.allSettled(parts.map((p) => p.container.stop({ timeout: 10_000, remove: true, removeVolumes: true })));
      for (const s of streams) s.end();
    })());

  const awaitReady = async (part: Part): Promise<void> => {
    if (!(await poll(part.ready, timeoutMs))) {
      throw startFailed(`${part.name} container`, `was not ready after ${timeoutMs} ms`, part.logFile, tailFile(part.logFile, 30));
    }
  };
  try {
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
    await Promise.all(parts.map(awaitReady));
  } catch (err) {
    await stop();
    throw err;
  }
  if (parts.length > 0) log(`ready in ${Date.now() - t0} ms`);

  const part = (name: string, variable: string): Part => {
    const p = byName.get(name);
    if (!p) throw new HashCheckError('HC_STACK_NOT_MANAGED', `Containers stack: ${name} comes from ${variable}; the stack cannot kill or restart it.`);
    return p;
  };
  const kill = async (p: Part): Promise<void> => {
    await client.container.getById(p.container.getId()).kill().catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 409) throw err; // 409: not running
    });
    pids.delete(p.name);
  };
  const restart = async (p: Part): Promise<void> => {
    // Same container: same ports, same data in its writable layer, like the local stack's restart.
    const c = client.container.getById(p.container.getId());
    const state = await c.inspect();
    if (state.State.Running) await c.stop({ t: 20 });
    await c.start();
    await awaitReady(p);
    await readPid(p);
  };

  // Host process ids of the containers' main processes (the engine runs them on this kernel).
  const pids = new Map<string, number>();
  const readPid = async (p: Part): Promise<void> => {
    const info = await client.container.getById(p.container.getId()).inspect().catch(() => undefined);
    if (info?.State.Running && info.State.Pid > 0) pids.set(p.name, info.State.Pid);
    else pids.delete(p.name);
  };
  await Promise.all(parts.map(readPid));

  const kafkaName = 'Kafka';
  // Not annotated: the Stack interface grows (pids), and a return needs no excess-property check.
  const stack = {
    kafkaBrokers,
    mongoUri,
    logDir,
    mongoKind,
    managed: { kafka: wanted.kafka, mongo: wanted.mongo, zipkin: wanted.zipkin },
    ...(zipkinUrl !== undefined ? { zipkinUrl } : {}),
    pids() {
      const out: { kafka?: number; mongo?: number; zipkin?: number } = {};
      const k = pids.get(kafkaName);
      const m = pids.get(String(mongoKind));
      const z = pids.get('Zipkin');
      if (k !== undefined) out.kafka = k;
      if (m !== undefined) out.mongo = m;
      if (z !== undefined) out.zipkin = z;
      return out;
    },
    env() {
      const vars: Record<string, string> = { KAFKA_BROKERS: kafkaBrokers, MONGODB_URI: mongoUri };
      if (zipkinUrl) Object.assign(vars, { ZIPKIN_URL: zipkinUrl }, zipkinOtelEnv(zipkinUrl));
      return vars;
    },
    stop,
    killKafka: () => kill(part(kafkaName, 'KAFKA_BROKERS')),
    restartKafka: () => restart(part(kafkaName, 'KAFKA_BROKERS')),
    killMongo: () => kill(part(String(mongoKind), 'MONGODB_URI')),
    restartMongo: () => restart(part(String(mongoKind), 'MONGODB_URI')),
  };
  return stack;
}

/** A label of an image present on the engine (undefined when absent or not pulled yet). */
async function imageLabel(
  client: Awaited<ReturnType<Testcontainers['getContainerRuntimeClient']>>,
  tc: Testcontainers,
  image: string,
  label: string,
): Promise<string | undefined> {
  try {
    const name = tc.ImageName.fromString(image);
    if (!(await client.image.exists(name))) return undefined;
    const info = await client.image.inspect(name);
    return info.Config?.Labels?.[label];
  } catch {
    return undefined;
  }
}
