import { Type } from '@sinclair/typebox';

/**
 * A page size in a query string. Query values arrive as text and the validator does not coerce
 * types (createApp: a body's `"5"` must stay a string), so an Integer schema here refused every value
 * a client gave and only its default ever applied.
 */
export function QueryLimit(max: number, fallback: number) {
  return Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,6}$', description: `1 to ${max}, default ${fallback}; more is read as ${max}` }));
}

/** The page size asked for, at most `max`; `fallback` when none was given. */
export function limitOf(value: string | undefined, max: number, fallback: number): number {
  return value === undefined ? fallback : Math.min(Number(value), max);
}
