/** A JSON value as it is hashed: no undefined, no NaN or Infinity, no Dates, no class instances. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Canonical JSON (the RFC 8785 scheme): object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings serialised as ECMAScript's JSON.stringify does. Two parties that hold the
 * same value always produce the same bytes, whatever order a database returned the keys in.
 * Throws on anything that is not plain JSON, so a value that would not survive a round trip
 * through storage is refused instead of silently hashing differently later.
 */
export function canonicalize(value: unknown): string {
  return write(value, '');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${path || 'value'} is not a finite number`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonical JSON: ${path || 'value'} is not a plain object`);
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) throw new TypeError(`canonical JSON: ${path ? `${path}.` : ''}${k} is undefined`);
        parts.push(`${JSON.stringify(k)}:${write(v, path ? `${path}.${k}` : k)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: ${path || 'value'} has unsupported type ${typeof value}`);
  }
}

/**
 * Turns an arbitrary value into plain JSON the way it will be stored: Dates become ISO strings,
 * undefined fields disappear. Non-finite numbers are refused rather than silently becoming null.
 */
export function toJsonValue(value: unknown): JsonValue {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError('evidence data holds a non-finite number');
    if (typeof v === 'bigint') throw new TypeError('evidence data holds a bigint');
    return v;
  });
  if (text === undefined) throw new TypeError('evidence data is not representable as JSON');
  return JSON.parse(text) as JsonValue;
}
