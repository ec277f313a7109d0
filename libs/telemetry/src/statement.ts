/**
 * `db.query.text` for MongoDB spans: the command's shape — field names three levels deep, values as
 * `?`, arrays as their length — instead of the instrumentation's default, which walks every value
 * of the command through a JSON replacer: for an `insertMany` of a consumer batch, every field of
 * every report. That default was 11 % of the busy CPU of the pipeline benchmark's process with
 * tracing on (4.1 % of a `--cpu-prof` profile that was 64 % idle: `_defaultDbStatementSerializer`),
 * the largest single cost of tracing there.
 * Values never appear, as with the default.
 */
export function commandShape(command: Record<string, unknown>): string {
  return JSON.stringify(shape(command, 0));
}

const MAX_DEPTH = 3;

function shape(value: unknown, depth: number): unknown {
  if (Array.isArray(value)) return `[${value.length}]`;
  if (typeof value !== 'object' || value === null) return '?';
  // BSON values (ObjectId, Long, Binary, Decimal128, dates) are values, not documents.
  if (value instanceof Date || '_bsontype' in value) return '?';
  if (depth >= MAX_DEPTH) return '{…}';
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = shape(v, depth + 1);
  return out;
}
