import Module from 'node:module';
import { sep } from 'node:path';

type ResolveFilename = (request: string, parent: { filename?: string | null } | undefined, isMain?: boolean, options?: unknown) => string;

const NODE_MODULES = `${sep}node_modules${sep}`;

/**
 * Remembers how `require` calls made from inside node_modules resolve.
 *
 * The instrumentations' require hook (require-in-the-middle) resolves the file of every `require`
 * call, not just the first, and kafkajs requires its protocol modules inside functions, so each
 * request to the broker resolves a few of them again. Under tsx that resolution builds an Error
 * stack with source maps each time. On the traced pipeline benchmark it was 3.7 s of CPU out of
 * the 11.9 s that tracing added (CPU profiles of a traced and a plain run of 4,000 reports).
 * What a file inside node_modules requires resolves the same way for the life of the process, so
 * the answer is kept per (requiring file, request). Requests from the project's own files (tsx
 * maps their `.js` imports to `.ts`) and anything with options are left alone.
 */
export function memoiseDependencyResolution(): () => void {
  const mod = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = mod._resolveFilename;
  const cache = new Map<string, string>();
  const memo: ResolveFilename = function resolveFilename(this: unknown, request, parent, isMain, options) {
    const from = parent?.filename;
    if (isMain || options !== undefined || typeof from !== 'string' || !from.includes(NODE_MODULES)) {
      return original.call(this, request, parent, isMain, options);
    }
    const key = `${from}\0${request}`;
    let resolved = cache.get(key);
    if (resolved === undefined) {
      resolved = original.call(this, request, parent, isMain, options);
      cache.set(key, resolved);
    }
    return resolved;
  };
  mod._resolveFilename = memo;
  return () => {
    if (mod._resolveFilename === memo) mod._resolveFilename = original;
  };
}
