/**
 * deploy/k8s: what operators rely on is there for every service — readiness on /health/ready,
 * liveness on /health/live, a Service, an autoscaler that never goes below two replicas nor above
 * the partitions of what it consumes, a disruption budget, secrets only by reference — and the
 * kustomization lists every manifest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadK8sObjects } from './k8s-objects';
import { registry } from '@hashcheck/events';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'k8s');
const SERVICES = ['intake', 'hash-check', 'notification', 'enforcement'];

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
}
interface Probe { httpGet?: { path: string; port: string | number } }
interface Container {
  name: string;
  image: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; securityContext?: { runAsNonRoot?: boolean } } };
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const objects = loadK8sObjects<Obj>();

function find(kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `deploy/k8s has no ${kind} ${name}`);
  return o;
}

test('k8s: every service has a Deployment with readiness and liveness probes, non-root and read-only', () => {
  for (const name of SERVICES) {
    const spec = find('Deployment', name).spec as unknown as DeploymentSpec;
    assert.ok(spec.replicas >= 2, `${name}: two replicas at least`);
    assert.deepEqual(spec.template.metadata.labels['app.kubernetes.io/name'], spec.selector.matchLabels['app.kubernetes.io/name']);
    const [c] = spec.template.spec.containers;
    assert.ok(c, name);
    assert.equal(c.readinessProbe?.httpGet?.path, '/health/ready', `${name}: readiness`);
    assert.equal(c.livenessProbe?.httpGet?.path, '/health/live', `${name}: liveness`);
    const port = c.ports?.find((p) => p.name === c.readinessProbe?.httpGet?.port || p.containerPort === c.readinessProbe?.httpGet?.port);
    assert.ok(port, `${name}: the probes target a declared port`);
    assert.ok(c.resources?.requests?.memory && c.resources.limits?.memory, `${name}: memory request and limit`);
    assert.equal(spec.template.spec.securityContext?.runAsNonRoot, true, `${name}: non-root`);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.match(c.image, new RegExp(`^hashcheck/${name}:`));
  }
});

test('k8s: a Service, an HPA (2 .. partitions) and a PodDisruptionBudget per service', () => {
  const maxPartitions = Math.max(...registry.topics().map((t) => t.partitions));
  for (const name of SERVICES) {
    const dep = find('Deployment', name).spec as unknown as DeploymentSpec;
    const svc = find('Service', name).spec as { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> };
    assert.deepEqual(svc.selector, dep.selector.matchLabels, `${name}: the Service selects the pods`);
    const hpa = find('HorizontalPodAutoscaler', name);
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    const h = hpa.spec as { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
    assert.deepEqual([h.scaleTargetRef.kind, h.scaleTargetRef.name], ['Deployment', name]);
    assert.ok(h.minReplicas >= 2, `${name}: the autoscaler keeps two`);
    assert.ok(h.maxReplicas <= maxPartitions, `${name}: more consumers than partitions would idle`);
    const pdb = find('PodDisruptionBudget', name);
    assert.equal(pdb.apiVersion, 'policy/v1');
    const p = pdb.spec as { minAvailable?: number; selector: { matchLabels: Record<string, string> } };
    assert.deepEqual(p.selector.matchLabels, dep.selector.matchLabels);
    assert.ok((p.minAvailable ?? 0) >= 1 && (p.minAvailable ?? 0) < h.minReplicas, `${name}: a drain can proceed and one pod always serves`);
  }
});

test('k8s: no Secret values in the repository, only references', () => {
  assert.deepEqual(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name), []);
  for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
    for (const key of Object.keys(o.data ?? {})) assert.doesNotMatch(key, /PASSWORD|SECRET|TOKEN|_KEY$/, `${o.metadata.name}: ${key} belongs in a Secret`);
    for (const v of Object.values(o.data ?? {})) assert.doesNotMatch(String(v), /:\/\/[^/\s:@]+:[^/\s@]+@/, `${o.metadata.name}: credentials in a URI`);
  }
});

test('k8s: kustomization.yaml lists every manifest in the folder', () => {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[]; images?: Array<{ name: string }> };
  assert.deepEqual([...k.resources].sort(), files.filter((f) => f !== 'kustomization.yaml').sort());
  assert.deepEqual((k.images ?? []).map((i) => i.name).sort(), SERVICES.map((s) => `hashcheck/${s}`).sort());
});
