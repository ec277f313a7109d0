import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOTS = ['libs', 'services', 'tools', 'test'];
const SKIP = new Set(['node_modules', '.git', 'dist', '.cache', 'results']);

/** Files under the workspaces (or under `dirs`, relative to `root`) whose names end with `suffix`, sorted, relative to `root`. */
export function findFiles(root: string, suffix: string, dirs: readonly string[] = ROOTS): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (SKIP.has(e.name)) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(suffix)) out.push(relative(root, p));
    }
  };
  for (const r of dirs) walk(join(root, r));
  return out.sort();
}
