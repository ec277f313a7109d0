/**
 * deploy/k8s against the Kubernetes API's own schemas, strictly (an unknown field such as a
 * misspelt `readinesProbe` fails, which the structural checks in k8s.test.ts and manifests.test.ts
 * would not notice): `kubernetes-validate` (PyPI), which ships the schemas of every Kubernetes
 * release from 1.25 on, so it needs no network. The oldest and newest releases the manifests are
 * meant for are checked.
 *
 * Skips, saying so, when the validator is not installed. To install it (~150 MB, no root):
 *   python3 -m venv ~/.cache/hashcheck/kubernetes-validate
 *   ~/.cache/hashcheck/kubernetes-validate/bin/pip install kubernetes-validate==1.37.0
 * or point KUBERNETES_VALIDATE at the executable.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'k8s');
const manifests = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').map((f) => join(dir, f));
/** Autoscaling v2 and policy/v1 are GA since 1.23 / 1.21; 1.30 is the oldest release still commonly run. */
const VERSIONS = ['1.30', '1.37'];

function validator(t: TestContext): string | undefined {
  const candidates = [process.env.KUBERNETES_VALIDATE, join(homedir(), '.cache', 'hashcheck', 'kubernetes-validate', 'bin', 'kubernetes-validate'), 'kubernetes-validate'].filter((c): c is string => !!c);
  for (const c of candidates) {
    if (c.includes('/') && !existsSync(c)) continue;
    if (spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0) return c;
  }
  t.skip('kubernetes-validate is not installed: python3 -m venv ~/.cache/hashcheck/kubernetes-validate && ~/.cache/hashcheck/kubernetes-validate/bin/pip install kubernetes-validate==1.37.0 (or set KUBERNETES_VALIDATE)');
  return undefined;
}

function validate(bin: string, version: string, files: string[]): { status: number | null; out: string } {
  const r = spawnSync(bin, ['--strict', '--quiet', '-k', version, ...files], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

for (const version of VERSIONS) {
  test(`k8s: every manifest validates strictly against the Kubernetes ${version} schemas`, (t) => {
    const bin = validator(t);
    if (!bin) return;
    const r = validate(bin, version, manifests);
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /ERROR|did not validate/, r.out);
  });
}

test('k8s: the schema check fails on a misspelt field and on a wrong type (it can fail)', (t) => {
  const bin = validator(t);
  if (!bin) return;
  const tmp = mkdtempSync(join(tmpdir(), 'k8s-schema-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const original = readFileSync(join(dir, 'intake.yaml'), 'utf8');
  const typo = join(tmp, 'typo.yaml');
  writeFileSync(typo, original.replace('readinessProbe:', 'readinesProbe:'));
  const wrongType = join(tmp, 'wrong-type.yaml');
  writeFileSync(wrongType, original.replace('minReplicas: 2', 'minReplicas: two'));
  assert.notEqual(original, readFileSync(typo, 'utf8'));
  assert.notEqual(original, readFileSync(wrongType, 'utf8'));
  for (const f of [typo, wrongType]) {
    const r = validate(bin, VERSIONS[0] ?? '1.30', [f]);
    assert.notEqual(r.status, 0, `${f} should not validate: ${r.out}`);
    assert.match(r.out, /did not validate/);
  }
});
