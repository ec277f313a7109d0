import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { HASH_BYTES, HASH_TYPES, HASH_WORDS, isHashType, parseHexBytes } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';
import type { FastCheckBody } from './bulk-body';
import { CheckCode } from './codes';

/** A match as the check APIs show it: list and category, never the stored hash or its series. */
export interface PublicMatch {
  list: string;
  listName: string;
  category: string;
  distance: number;
}

/** How many items of one hash type matched one list. */
export interface MatchTally {
  type: HashType;
  list: string;
  count: number;
}

/** Counts matches per (type, list): one audit record per pair and request instead of one per hash. */
export class MatchTallies {
  private readonly map = new Map<string, MatchTally>();
  add(type: HashType, lists: readonly string[]): void {
    for (const list of new Set(lists)) {
      const k = `${type}\u0000${list}`;
      const t = this.map.get(k);
      if (t) t.count++;
      else this.map.set(k, { type, list, count: 1 });
    }
  }
  list(): MatchTally[] {
    return [...this.map.values()];
  }
}

/** The matching engine as the bulk check sees it; `undefined` = not a valid hash of that type. */
export type Matcher = (type: HashType, hash: string) => readonly PublicMatch[] | undefined;

export interface BulkCheckOutcome {
  /** The response body, serialised by hand (10,000 results: a schema serialiser is the bottleneck). */
  body: string;
  items: number;
  /** Valid items per hash type (for the per-tenant query counts). */
  byType: Record<HashType, number>;
  /** Items that matched at least one list. */
  matchedItems: number;
  /** Matches per (hash type, list), for the audit: no hashes. */
  matched: MatchTally[];
  invalid: number;
}

function itemError(i: number, code: string, message: string): string {
  return `{"index":${i},"error":{"code":"${code}","message":${JSON.stringify(message)}}}`;
}

/**
 * Checks every item of a bulk request on its own: an invalid item gets its error, the others are
 * answered. The request as a whole is refused only when it is not `{ items: [...] }` or has too many items.
 */
export function bulkCheck(body: unknown, maxItems: number, match: Matcher): BulkCheckOutcome {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HashCheckError(CheckCode.MALFORMED_BODY, 'the body must be a JSON object {"items":[...]}', { statusCode: 400 });
  }
  const items = (body as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new HashCheckError(CheckCode.MALFORMED_BODY, 'the body must have an "items" array', { statusCode: 400 });
  const extra = Object.keys(body).filter((k) => k !== 'items');
  if (extra.length > 0) throw new HashCheckError(ErrorCode.VALIDATION, `unknown field ${JSON.stringify(extra[0])} in the body (only "items")`);
  checkCount(items.length, maxItems);

  const byType: Record<HashType, number> = { md5: 0, sha1: 0, sha256: 0, pdq: 0 };
  const tallies = new MatchTallies();
  let matchedItems = 0;
  let invalid = 0;
  const parts: string[] = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as { type?: unknown; hash?: unknown } | null;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      invalid++;
      parts[i] = itemError(i, CheckCode.INVALID_ITEM, 'an item is an object {"type":…,"hash":…}');
      continue;
    }
    const type = item.type;
    if (!isHashType(type)) {
      invalid++;
      parts[i] = itemError(i, CheckCode.UNKNOWN_HASH_TYPE, `unknown hash type ${JSON.stringify(type ?? null).slice(0, 40)}: md5, sha1, sha256 or pdq`);
      continue;
    }
    const hash = item.hash;
    const matches = typeof hash === 'string' ? match(type, hash) : undefined;
    if (matches === undefined) {
      invalid++;
      parts[i] = itemError(i, CheckCode.INVALID_HASH, `a ${type} hash is ${HASH_BYTES[type] * 2} hex digits`);
      continue;
    }
    byType[type]++;
    if (matches.length === 0) {
      parts[i] = noMatch(i);
      continue;
    }
    matchedItems++;
    tallies.add(type, matches.map((m) => m.list));
    parts[i] = matchedResult(i, matches);
  }
  return { body: `{"results":[${parts.join(',')}]}`, items: items.length, byType, matchedItems, matched: tallies.list(), invalid };
}

/** `{"index":i,"match":false}` for every i seen so far: the answer of almost every item, built once. */
const NO_MATCH: string[] = [];
function noMatch(i: number): string {
  let r = NO_MATCH[i];
  if (r === undefined) {
    for (let k = NO_MATCH.length; k <= i; k++) NO_MATCH.push(`{"index":${k},"match":false}`);
    r = NO_MATCH[i] as string;
  }
  return r;
}

function matchedResult(i: number, matches: readonly PublicMatch[]): string {
  return `{"index":${i},"match":true,"matches":[${matches
    .map((m) => `{"list":${JSON.stringify(m.list)},"listName":${JSON.stringify(m.listName)},"category":${JSON.stringify(m.category)},"distance":${m.distance}}`)
    .join(',')}]}`;
}

function checkCount(count: number, maxItems: number): void {
  if (count === 0) throw new HashCheckError(CheckCode.MALFORMED_BODY, 'items is empty: send 1 to ' + maxItems + ' items', { statusCode: 400 });
  if (count > maxItems) throw new HashCheckError(CheckCode.TOO_MANY_ITEMS, `${count} items; at most ${maxItems} per request`, { statusCode: 400, details: { maxItems } });
}

const NO_PUBLIC_MATCHES: readonly PublicMatch[] = Object.freeze([]);

/** The engine as the batched bulk check sees it: hashes as packed words. */
export interface BatchMatcher {
  /** found[j] = 1 when the hash of `type` at words[offs[j]..] matches anything; returns how many. */
  matchMany(type: HashType, words: Uint32Array, offs: Int32Array, count: number, found: Uint8Array): number;
  /** The public matches of the hash at words[off..]. */
  matchWords(type: HashType, words: Uint32Array, off: number): readonly PublicMatch[];
}

/**
 * `bulkCheck` for a body read from its bytes (parseCheckBody): same results and counts, but the
 * hashes go from the request bytes to packed words without strings, hashes are looked up in one
 * batch per type (PDQ too), and match objects are built only for the few that match. `onPdq` sees each
 * valid PDQ item (for the probing detector) with its matches.
 */
export function fastBulkCheck(body: FastCheckBody, maxItems: number, matcher: BatchMatcher, onPdq?: (start: number, len: number, matches: readonly PublicMatch[]) => void): BulkCheckOutcome {
  const n = body.count;
  checkCount(n, maxItems);
  const { buf, types, starts, lens } = body;
  const words = new Uint32Array(n * 8);
  // Per item: 0 no match, 1 match, 2 invalid.
  const state = new Uint8Array(n);
  const offs = HASH_TYPES.map(() => new Int32Array(n));
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const t = types[i] as number;
    const type = HASH_TYPES[t] as HashType;
    const w = HASH_WORDS[type];
    if (lens[i] !== w * 8 || !parseHexBytes(buf, starts[i] as number, words, i * 8, w)) {
      state[i] = 2;
      continue;
    }
    (offs[t] as Int32Array)[counts[t] as number] = i * 8;
    counts[t] = (counts[t] as number) + 1;
  }
  const byType: Record<HashType, number> = { md5: 0, sha1: 0, sha256: 0, pdq: 0 };
  const found = new Uint8Array(n);
  for (let t = 0; t < HASH_TYPES.length; t++) {
    const c = counts[t] as number;
    const type = HASH_TYPES[t] as HashType;
    byType[type] = c;
    if (c === 0) continue;
    const o = offs[t] as Int32Array;
    if (matcher.matchMany(type, words, o, c, found) === 0) continue;
    for (let j = 0; j < c; j++) if (found[j] === 1) state[(o[j] as number) >>> 3] = 1;
  }
  const tallies = new MatchTallies();
  let matchedItems = 0;
  let invalid = 0;
  const parts: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const type = HASH_TYPES[types[i] as number] as HashType;
    const st = state[i] as number;
    if (st === 2) {
      invalid++;
      parts[i] = itemError(i, CheckCode.INVALID_HASH, `a ${type} hash is ${HASH_BYTES[type] * 2} hex digits`);
      continue;
    }
    // Match objects only for the items the batch found (PDQ included: its batched search prefetches
    // the next query's buckets, ~1.6-2x faster per query than one search each).
    const matches: readonly PublicMatch[] = st === 1 ? matcher.matchWords(type, words, i * 8) : NO_PUBLIC_MATCHES;
    if (type === 'pdq') onPdq?.(starts[i] as number, lens[i] as number, matches);
    if (matches.length === 0) {
      parts[i] = noMatch(i);
      continue;
    }
    matchedItems++;
    tallies.add(type, matches.map((m) => m.list));
    parts[i] = matchedResult(i, matches);
  }
  return { body: `{"results":[${parts.join(',')}]}`, items: n, byType, matchedItems, matched: tallies.list(), invalid };
}
