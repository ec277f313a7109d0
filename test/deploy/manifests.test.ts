/**
 * deploy/, checked more deeply than k8s.test.ts and env.test.ts do: what an operator or a cluster
 * policy would reject, and what would let the deploy files drift from each other and from the code.
 *
 * Kubernetes: every container has CPU and memory requests and a memory limit at or above its
 * request, fits the `restricted` Pod Security profile its namespace enforces, probes the routes
 * libs/http serves on the port PORT gives it, takes every secret-looking variable from a Secret
 * (secretKeyRef, never a literal) and only from Secrets docs/operations.md documents; image names
 * agree between the Deployments, kustomization.yaml and compose.yaml.
 *
 * compose: Kafka in KRaft mode with a consistent quorum, a MongoDB replica set that is initiated
 * with every member before a service starts, the OpenTelemetry collector and Zipkin wired end to
 * end (service -> collector -> Zipkin), and the same image names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadK8sObjects } from './k8s-objects';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const deploy = join(root, 'deploy');
const SERVICES = ['intake', 'hash-check', 'notification', 'enforcement'] as const;
/** Variables whose values are credentials or keys: only ever from a Secret. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|_KEY$|_KEYS$|^MONGODB_URI$|^SMTP_USER$|^KAFKA_SASL_USERNAME$/;

// --- Kubernetes -------------------------------------------------------------------------------

interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string }; fieldRef?: unknown } }
interface Probe { httpGet?: { path: string; port: string | number }; periodSeconds?: number; failureThreshold?: number }
interface Container {
  name: string;
  image: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; privileged?: boolean; runAsUser?: number; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  volumes?: Array<{ name: string; emptyDir?: unknown; hostPath?: unknown }>;
}
const objects = loadK8sObjects();
const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));

function deployment(name: string): { pod: PodSpec; container: Container } {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
  assert.ok(d, `no Deployment ${name}`);
  const pod = (d.spec?.template as { spec: PodSpec }).spec;
  const [container] = pod.containers;
  assert.ok(container, `${name}: a container`);
  return { pod, container };
}

/** Kubernetes quantities as numbers (bytes, cores). */
function quantity(q: string): number {
  const m = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  assert.ok(m, `not a quantity: ${q}`);
  const units: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? (units[m[2]] ?? NaN) : 1);
}

test('k8s: every container has CPU and memory requests and a memory limit at or above the request', () => {
  for (const name of SERVICES) {
    const { container } = deployment(name);
    const r = container.resources;
    assert.ok(r?.requests?.cpu && r.requests.memory, `${name}: CPU and memory requests (the scheduler and the HPA's utilisation need them)`);
    assert.ok(r.limits?.memory, `${name}: a memory limit`);
    assert.ok(quantity(r.limits.memory) >= quantity(r.requests.memory), `${name}: memory limit below the request`);
    if (r.limits.cpu) assert.ok(quantity(r.limits.cpu) >= quantity(r.requests.cpu), `${name}: CPU limit below the request`);
  }
  // hash-check holds the whole index: its limit leaves room for a release loaded beside the old one.
  const hc = deployment('hash-check').container.resources;
  assert.ok(hc?.limits?.memory && hc.requests?.memory && quantity(hc.limits.memory) >= 2 * quantity(hc.requests.memory) * 0.99, 'hash-check: limit about twice the request (docs/operations.md, sizing)');
});

test('k8s: every pod fits the restricted Pod Security profile its namespace enforces', () => {
  const ns = objects.find((o) => o.kind === 'Namespace');
  assert.equal(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  for (const name of SERVICES) {
    const { pod } = deployment(name);
    assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
    assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${name}: a non-zero runAsUser (the image's node user, uid 1000)`);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${name}: seccomp RuntimeDefault`);
    assert.equal(pod.automountServiceAccountToken, false, `${name}: no API token (the services never call the Kubernetes API)`);
    assert.ok(!pod.hostNetwork && !pod.hostPID, `${name}: no host namespaces`);
    assert.deepEqual((pod.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => v.name), [], `${name}: no hostPath volumes`);
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      const sc = c.securityContext;
      assert.equal(sc?.allowPrivilegeEscalation, false, `${name}/${c.name}: allowPrivilegeEscalation false`);
      assert.notEqual(sc?.privileged, true, `${name}/${c.name}: not privileged`);
      assert.deepEqual(sc?.capabilities?.drop, ['ALL'], `${name}/${c.name}: drops every capability`);
      assert.deepEqual(sc.capabilities.add ?? [], [], `${name}/${c.name}: adds none`);
      assert.notEqual(sc.runAsUser, 0, `${name}/${c.name}: not root`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${name}/${c.name}: read-only root filesystem`);
      // tsx writes its compile cache under /tmp: a writable emptyDir there, or the service cannot start.
      const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir !== undefined, `${name}/${c.name}: /tmp is a writable emptyDir`);
    }
  }
});

test('k8s: probes hit /health/ready and /health/live, which libs/http serves, on the port PORT gives the service', () => {
  const health = readFileSync(join(root, 'libs', 'http', 'src', 'health.ts'), 'utf8');
  assert.match(health, /'\/health\/ready'/);
  assert.match(health, /'\/health\/live'/);
  const port = Number(configMaps.get('hashcheck-common')?.PORT);
  assert.ok(port > 0, 'hashcheck-common sets PORT');
  for (const name of SERVICES) {
    const { container } = deployment(name);
    const http = container.ports?.find((p) => p.name === 'http');
    assert.equal(http?.containerPort, port, `${name}: the container port is the port the service listens on`);
    assert.equal(container.readinessProbe?.httpGet?.path, '/health/ready', `${name}: readiness`);
    assert.equal(container.livenessProbe?.httpGet?.path, '/health/live', `${name}: liveness`);
    for (const p of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      if (p) assert.ok(p.httpGet?.port === 'http' || p.httpGet?.port === port, `${name}: probes target the service port`);
    }
    // Liveness must not be stricter than readiness: a slow dependency makes a pod unready, never restarts it.
    const live = container.livenessProbe;
    const ready = container.readinessProbe;
    assert.ok((live?.periodSeconds ?? 10) * (live?.failureThreshold ?? 3) >= (ready?.periodSeconds ?? 10) * (ready?.failureThreshold ?? 3), `${name}: liveness gives up no sooner than readiness`);
    // hash-check loads its index before it listens: a startup probe keeps liveness off meanwhile.
    if (name === 'hash-check') assert.ok(container.startupProbe?.httpGet, 'hash-check: a startup probe');
  }
});

function documentedSecrets(): Set<string> {
  const doc = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
  const out = new Set<string>();
  // | `hashcheck-kafka` | `sasl-username`, `sasl-password` | ...
  for (const m of doc.matchAll(/^\| `(hashcheck-[a-z-]+)` \| ([^|]+) \|/gm)) {
    for (const k of (m[2] ?? '').matchAll(/`([a-z-]+)`/g)) out.add(`${m[1]}/${k[1]}`);
  }
  return out;
}

test('k8s: secrets only through secretKeyRef, and only the Secrets and keys docs/operations.md documents', () => {
  const documented = documentedSecrets();
  assert.ok(documented.size >= 5, 'the Secret table in docs/operations.md was found');
  const used = new Set<string>();
  for (const name of SERVICES) {
    const { container } = deployment(name);
    assert.deepEqual((container.envFrom ?? []).filter((e) => e.secretRef).map((e) => e.secretRef?.name), [], `${name}: no envFrom secretRef (every secret variable named)`);
    for (const e of container.env ?? []) {
      if (!SECRET_NAME.test(e.name)) continue;
      assert.equal(e.value, undefined, `${name}: ${e.name} has a literal value`);
      const ref = e.valueFrom?.secretKeyRef;
      assert.ok(ref, `${name}: ${e.name} comes from a Secret`);
      assert.ok(documented.has(`${ref.name}/${ref.key}`), `${name}: ${e.name} reads ${ref.name}/${ref.key}, which docs/operations.md does not document`);
      used.add(`${ref.name}/${ref.key}`);
    }
    for (const ref of container.envFrom ?? []) {
      for (const key of Object.keys(configMaps.get(ref.configMapRef?.name ?? '') ?? {})) assert.doesNotMatch(key, SECRET_NAME, `${name}: ${key} is in a ConfigMap`);
    }
  }
  assert.deepEqual([...documented].filter((s) => !used.has(s)), [], 'docs/operations.md documents Secret keys no manifest reads');
});

test('k8s: the secret-name rule and the quantity parser can fail', () => {
  assert.ok(SECRET_NAME.test('HASH_LIST_SECRET') && SECRET_NAME.test('INTAKE_API_KEYS') && SECRET_NAME.test('MONGODB_URI') && SECRET_NAME.test('SMTP_PASSWORD'));
  assert.ok(!SECRET_NAME.test('KAFKA_BROKERS') && !SECRET_NAME.test('MONGODB_DATABASE') && !SECRET_NAME.test('OTEL_SERVICE_NAME'));
  assert.equal(quantity('640Mi'), 640 * 2 ** 20);
  assert.equal(quantity('500m'), 0.5);
  assert.throws(() => quantity('lots'));
});

// --- image names: k8s, kustomization, compose ---------------------------------------------------

interface ComposeService {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | null>;
  deploy?: { replicas?: number; resources?: { limits?: { memory?: string } } };
  build?: { args?: Record<string, string>; dockerfile?: string };
  depends_on?: Record<string, { condition: string }> | string[];
  volumes?: string[];
  ports?: string[];
  hostname?: string;
}
const compose = parse(readFileSync(join(deploy, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

test('image names agree: hashcheck/<service> in the Deployments, kustomization.yaml and compose.yaml', () => {
  const kustomization = parse(readFileSync(join(deploy, 'k8s', 'kustomization.yaml'), 'utf8')) as { images: Array<{ name: string; newTag?: string }> };
  for (const name of SERVICES) {
    const { container } = deployment(name);
    const [image, tag] = container.image.split(':');
    assert.equal(image, `hashcheck/${name}`, `${name}: Deployment image`);
    const k = kustomization.images.find((i) => i.name === image);
    assert.ok(k, `${name}: kustomization.yaml sets the tag of ${image}`);
    assert.equal(k.newTag, tag, `${name}: the Deployment's tag and kustomization's newTag agree`);
    const c = compose.services[name];
    assert.match(c?.image ?? '', new RegExp(`^hashcheck/${name}:`), `${name}: compose image`);
    assert.equal(c?.build?.args?.SERVICE, name, `${name}: compose builds it with SERVICE=${name}`);
    assert.equal(c?.build?.dockerfile, 'deploy/Dockerfile');
    assert.equal(c?.environment?.OTEL_SERVICE_NAME, `hashcheck-${name}`, `${name}: compose OTEL_SERVICE_NAME`);
    const cm = configMaps.get(`hashcheck-${name}`);
    assert.equal(cm?.OTEL_SERVICE_NAME, `hashcheck-${name}`, `${name}: k8s OTEL_SERVICE_NAME`);
  }
});

// --- compose ----------------------------------------------------------------------------------

const appServices = SERVICES.map((s) => compose.services[s]);

test('compose: two replicas of every service, each with host ports for both, starting after Kafka, MongoDB and the collector', () => {
  for (const [i, svc] of appServices.entries()) {
    const name = SERVICES[i];
    assert.ok(svc, `compose has ${name}`);
    assert.equal(svc.deploy?.replicas, 2, `${name}: two replicas`);
    for (const p of svc.ports ?? []) {
      const range = /^(?:127\.0\.0\.1:)?(\d+)-(\d+):\d+$/.exec(p);
      assert.ok(range, `${name}: a host port range (one port per replica), not ${p}`);
      assert.equal(Number(range[2]) - Number(range[1]) + 1, svc.deploy.replicas, `${name}: as many host ports as replicas`);
    }
    const deps = svc.depends_on as Record<string, { condition: string }>;
    assert.equal(deps['mongo-init']?.condition, 'service_completed_successfully', `${name}: waits for the replica set`);
    for (const k of ['kafka-1', 'kafka-2', 'kafka-3']) assert.equal(deps[k]?.condition, 'service_healthy', `${name}: waits for ${k}`);
    assert.ok(deps['otel-collector'], `${name}: starts after the collector`);
  }
});

test('compose: Kafka runs in KRaft mode with a consistent three-node quorum', () => {
  const text = readFileSync(join(deploy, 'compose.yaml'), 'utf8');
  assert.doesNotMatch(text, /zookeeper/i, 'no ZooKeeper');
  const nodes = Object.entries(compose.services).filter(([n]) => /^kafka-\d+$/.test(n));
  assert.equal(nodes.length, 3);
  const ids = new Set<string>();
  let voters: string | undefined;
  let clusterId: string | undefined;
  for (const [n, svc] of nodes) {
    const e = svc.environment ?? {};
    assert.deepEqual(String(e.KAFKA_PROCESS_ROLES).split(',').sort(), ['broker', 'controller'], `${n}: combined broker+controller (KRaft)`);
    ids.add(String(e.KAFKA_NODE_ID));
    voters ??= String(e.KAFKA_CONTROLLER_QUORUM_VOTERS);
    assert.equal(String(e.KAFKA_CONTROLLER_QUORUM_VOTERS), voters, `${n}: the same voters everywhere`);
    clusterId ??= String(e.CLUSTER_ID);
    assert.equal(String(e.CLUSTER_ID), clusterId, `${n}: one cluster id`);
    assert.equal(String(e.KAFKA_ADVERTISED_LISTENERS), `PLAINTEXT://${svc.hostname}:9092`, `${n}: advertises its own name`);
    assert.ok(Number(e.KAFKA_DEFAULT_REPLICATION_FACTOR) <= nodes.length && Number(e.KAFKA_MIN_INSYNC_REPLICAS) < Number(e.KAFKA_DEFAULT_REPLICATION_FACTOR), `${n}: replication fits the nodes and survives one down`);
    assert.equal(String(e.KAFKA_AUTO_CREATE_TOPICS_ENABLE), 'false');
  }
  assert.equal(ids.size, 3, 'distinct node ids');
  const expected = nodes.map(([, svc]) => `${svc.environment?.KAFKA_NODE_ID}@${svc.hostname}:9093`).sort();
  assert.deepEqual((voters ?? '').split(',').sort(), expected, 'the voters are exactly the three nodes');
  for (const [i, svc] of appServices.entries()) {
    assert.deepEqual(String(svc?.environment?.KAFKA_BROKERS).split(',').sort(), nodes.map(([n]) => `${n}:9092`).sort(), `${SERVICES[i]}: brokers`);
    assert.equal(String(svc?.environment?.KAFKA_REPLICATION_FACTOR), '3', `${SERVICES[i]}: topics it creates are replicated`);
  }
});

test('compose: MongoDB is a replica set, initiated with every member, and the services connect to it as one', () => {
  const members = Object.entries(compose.services).filter(([n]) => /^mongo-\d+$/.test(n));
  assert.equal(members.length, 3);
  for (const [n, svc] of members) {
    const cmd = Array.isArray(svc.command) ? svc.command : String(svc.command).split(/\s+/);
    assert.equal(cmd[cmd.indexOf('--replSet') + 1], 'rs0', `${n}: --replSet rs0`);
    assert.ok(svc.volumes?.some((v) => v.endsWith(':/data/db')), `${n}: data on a volume`);
  }
  const init = compose.services['mongo-init'];
  assert.ok(init, 'a one-shot mongo-init');
  const script = (Array.isArray(init.entrypoint) ? init.entrypoint : [String(init.entrypoint)]).join(' ');
  assert.match(script, /rs\.initiate\(\{\s*_id: 'rs0'/);
  for (const [n] of members) assert.ok(script.includes(`host: '${n}:27017'`), `the replica set includes ${n}`);
  assert.match(script, /try \{ rs\.status\(\)/, 'initiating is idempotent (a second `up` leaves the set alone)');
  for (const [n] of members) assert.equal((init.depends_on as Record<string, { condition: string }>)[n]?.condition, 'service_healthy');
  for (const [i, svc] of appServices.entries()) {
    // A seed list (a,b,c) is not a WHATWG URL: split it by hand.
    const uri = /^mongodb:\/\/([^/?]+)\/?\?(.*)$/.exec(String(svc?.environment?.MONGODB_URI));
    assert.ok(uri, `${SERVICES[i]}: a mongodb:// URI with options`);
    assert.equal(new URLSearchParams(uri[2]).get('replicaSet'), 'rs0', `${SERVICES[i]}: replicaSet=rs0`);
    assert.deepEqual((uri[1] ?? '').split(',').map((h) => h.split(':')[0]).sort(), members.map(([n]) => n).sort(), `${SERVICES[i]}: every member in the seed list`);
  }
});

test('compose: services -> OpenTelemetry collector -> Zipkin, wired end to end', () => {
  const collector = compose.services['otel-collector'];
  assert.ok(collector && compose.services.zipkin, 'a collector and a trace viewer');
  const mount = collector.volumes?.find((v) => v.startsWith('./otel-collector.yaml:'));
  assert.ok(mount, 'the collector reads deploy/otel-collector.yaml');
  const configPath = mount.split(':')[1];
  assert.ok((Array.isArray(collector.command) ? collector.command : [String(collector.command)]).some((c) => c === `--config=${configPath}`), 'and is started with it');
  const cfg = parse(readFileSync(join(deploy, 'otel-collector.yaml'), 'utf8')) as {
    receivers: { otlp: { protocols: { http: { endpoint: string } } } };
    exporters: Record<string, { endpoint: string }>;
    service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
  };
  const httpPort = cfg.receivers.otlp.protocols.http.endpoint.split(':').pop();
  assert.ok(cfg.service.pipelines.traces?.receivers.includes('otlp'));
  assert.ok(cfg.service.pipelines.traces?.exporters.includes('zipkin'), 'traces go to Zipkin');
  assert.match(cfg.exporters.zipkin?.endpoint ?? '', /^http:\/\/zipkin:9411\/api\/v2\/spans$/);
  assert.ok(cfg.service.pipelines.metrics?.receivers.includes('otlp'), 'metrics are received too');
  for (const [i, svc] of appServices.entries()) {
    const e = svc?.environment ?? {};
    assert.equal(e.OTEL_EXPORTER_OTLP_ENDPOINT, `http://otel-collector:${httpPort}`, `${SERVICES[i]}: exports to the collector's OTLP/HTTP receiver`);
    assert.equal(e.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
    assert.equal(e.OTEL_TRACES_EXPORTER, 'otlp');
  }
  assert.match(String(configMaps.get('hashcheck-common')?.OTEL_EXPORTER_OTLP_ENDPOINT), /^http:\/\/[a-z0-9.-]+:4318$/, 'k8s: the same OTLP/HTTP port');
});

test('compose: the hash-check memory limit matches the Kubernetes limit', () => {
  const limit = compose.services['hash-check']?.deploy?.resources?.limits?.memory ?? '';
  const k = deployment('hash-check').container.resources?.limits?.memory ?? '';
  assert.equal(quantity(limit.replace(/g$/, 'Gi').replace(/m$/, 'Mi')), quantity(k));
});
