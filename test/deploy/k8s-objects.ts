import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const deployDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

/**
 * Every object of every manifest in deploy/k8s (kustomization.yaml aside), parsed strictly: a
 * duplicated key or a YAML error fails the test that loads them, naming the file.
 */
export function loadK8sObjects<T = K8sObject>(): T[] {
  const dir = join(deployDir, 'k8s');
  const out: T[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { uniqueKeys: true })) {
      assert.deepEqual(doc.errors.map((e) => e.message), [], file);
      const obj = doc.toJS() as T | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}
