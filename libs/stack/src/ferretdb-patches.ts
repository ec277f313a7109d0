/**
 * Source changes applied to FerretDB (downloaded from the Go module proxy) before the local stack
 * builds it. Each `from` must occur exactly once in its file, so a version bump that moves the code
 * fails the build loudly instead of silently dropping the fix.
 */
export interface SourcePatch {
  file: string;
  from: string;
  to: string;
  why: string;
}

export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';

export const FERRETDB_PATCHES: readonly SourcePatch[] = [
  {
    file: 'internal/backends/sqlite/metadata/metadata.go',
    from: `IDColumn = DefaultColumn + "->'$._id'"`,
    to: `IDColumn = DefaultColumn + "->'_id'"`,
    why:
      "FerretDB 1.24.2 looks documents up by `_ferretdb_sjson->'$._id'` but indexes `_ferretdb_sjson->\"_id\"`: SQLite " +
      'only uses an expression index for the same expression, so every find, update and delete by _id scanned the whole ' +
      'table (EXPLAIN QUERY PLAN: SCAN instead of SEARCH ... USING INDEX). Both expressions return the same JSON value.',
  },
];

/** `source` with every patch for `file` applied; throws when a patch does not match exactly once. */
export function applyPatches(file: string, source: string, patches: readonly SourcePatch[] = FERRETDB_PATCHES): string {
  let out = source;
  for (const p of patches.filter((x) => x.file === file)) {
    const count = out.split(p.from).length - 1;
    if (count !== 1) throw new Error(`FerretDB patch for ${file} expected "${p.from}" exactly once, found it ${count} times`);
    out = out.replace(p.from, () => p.to);
  }
  return out;
}
