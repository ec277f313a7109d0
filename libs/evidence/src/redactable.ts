import { createHash, randomBytes } from 'node:crypto';
import type { JsonValue } from './canonical';

/**
 * Personal data in an evidence entry (URLs, host names, IP addresses) is stored as a salted
 * commitment: the chain hashes only the digest, so the value and its salt can be erased after the
 * retention period and the chain still verifies. While the value is present, verification checks
 * it against the digest, so altering it is caught like any other change. The salt stops anyone
 * from confirming a guessed URL against an anonymised file.
 */
export const REDACTABLE_KEY = '@redactable';

export interface RedactableBody {
  digest: string;
  salt?: string;
  value?: string;
}

export interface Redactable {
  [REDACTABLE_KEY]: RedactableBody;
}

export function redactableDigest(salt: string, value: string): string {
  return createHash('sha256').update(JSON.stringify([salt, value])).digest('hex');
}

/** Wraps a personal value for an evidence entry. */
export function redactable(value: string, salt: string = randomBytes(16).toString('hex')): Redactable {
  return { [REDACTABLE_KEY]: { digest: redactableDigest(salt, value), salt, value } };
}

export function isRedactable(value: unknown): value is Redactable {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === REDACTABLE_KEY;
}

/** The form the chain hashes: every redactable reduced to its digest. */
export function hashForm(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(hashForm);
  if (typeof value === 'object' && value !== null) {
    if (isRedactable(value)) {
      const body = value[REDACTABLE_KEY] as unknown as Partial<RedactableBody>;
      return { [REDACTABLE_KEY]: { digest: typeof body?.digest === 'string' ? body.digest : '' } };
    }
    // fromEntries defines own properties, so a key named __proto__ stays data.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hashForm(v)]));
  }
  return value;
}

/** Erases every redactable's value and salt, keeping the digest the chain depends on. */
export function redact(value: JsonValue): JsonValue {
  return hashForm(value);
}

/** Problems with redactables inside one entry's data (empty when all is well). */
export function redactableProblems(value: unknown, path = 'data'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => redactableProblems(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  if (isRedactable(value)) {
    const body = (value as Redactable)[REDACTABLE_KEY] as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return [`${path} is not a valid redactable value`];
    const b = body as Record<string, unknown>;
    const extra = Object.keys(b).filter((k) => k !== 'digest' && k !== 'salt' && k !== 'value');
    if (extra.length > 0) return [`${path} carries unexpected fields ${extra.join(', ')}`];
    if (typeof b.digest !== 'string' || !/^[0-9a-f]{64}$/.test(b.digest)) return [`${path} has no valid digest`];
    const hasSalt = b.salt !== undefined;
    const hasValue = b.value !== undefined;
    if (hasSalt !== hasValue) return [`${path} is half redacted (salt and value must be both present or both erased)`];
    if (hasSalt) {
      if (typeof b.salt !== 'string' || typeof b.value !== 'string') return [`${path} salt and value must be strings`];
      if (redactableDigest(b.salt, b.value) !== b.digest) return [`${path} value does not match its digest`];
    }
    return [];
  }
  return Object.entries(value).flatMap(([k, v]) => redactableProblems(v, `${path}.${k}`));
}

/** Counts redactables whose value has been erased. */
export function countRedacted(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countRedacted(v), 0);
  if (typeof value !== 'object' || value === null) return 0;
  if (isRedactable(value)) return (value as Redactable)[REDACTABLE_KEY].value === undefined ? 1 : 0;
  return Object.values(value).reduce((n: number, v) => n + countRedacted(v), 0);
}

/** For display: redactables replaced by their value, or by a marker once erased. */
export function reveal(value: JsonValue, erased = '[anonymised]'): JsonValue {
  if (Array.isArray(value)) return value.map((v) => reveal(v, erased));
  if (typeof value === 'object' && value !== null) {
    if (isRedactable(value)) return (value as unknown as Redactable)[REDACTABLE_KEY].value ?? erased;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v, erased)]));
  }
  return value;
}
