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
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}`,
    to: `	if params.Filter.Len() >= 1 {
		v, _ := params.Filter.Get("_id")
		switch v := v.(type) {
		case string, types.ObjectID:
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			whereClause, args = idInClause(v)
		}`,
    why:
      'Only a filter that is exactly `{ _id: <string or ObjectId> }` was narrowed in SQL: `_id: { $in: [...] }`, or ' +
      '`_id` beside other conditions (a compare-and-set such as `{ _id, version }`), read and decoded every document ' +
      'of the collection. Now `_id` narrows the read whatever else the filter holds; the handler still applies the ' +
      'whole filter to what is read (FilterIterator / FilterDocument), so this only changes how much is read.',
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
			filterPushdown = true`,
    to: `	if params.Filter.Len() >= 1 {
		v, _ := params.Filter.Get("_id")
		switch v := v.(type) {
		case *types.Document:
			whereClause, args = idInClause(v)
		case string, types.ObjectID:
			filterPushdown = params.Filter.Len() == 1`,
    why: 'The same pre-filter in `explain`, so a test can see the plan use the index.',
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: `// InsertAll implements backends.Collection interface.`,
    to: `// idInClause pre-filters {_id: {$in: [...]}} in SQL when every value is a string or an ObjectID
// (HashCheck patch). The handler filters the rows again, so this only narrows what is read.
func idInClause(d *types.Document) (string, []any) {
	if d.Len() != 1 {
		return "", nil
	}
	in, _ := d.Get("$in")
	arr, ok := in.(*types.Array)
	if !ok || arr.Len() == 0 || arr.Len() > 1000 {
		return "", nil
	}
	args := make([]any, 0, arr.Len())
	marks := make([]string, 0, arr.Len())
	for i := 0; i < arr.Len(); i++ {
		v, _ := arr.Get(i)
		switch v.(type) {
		case string, types.ObjectID:
			args = append(args, string(must.NotFail(sjson.MarshalSingleValue(v))))
			marks = append(marks, "?")
		default:
			return "", nil
		}
	}
	return fmt.Sprintf(\` WHERE %s IN (%s)\`, metadata.IDColumn, strings.Join(marks, ", ")), args
}

// InsertAll implements backends.Collection interface.`,
    why: 'The SQL for `_id: { $in }` (strings and ObjectIDs only, at most 1000 values; anything else is not pushed down).',
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
