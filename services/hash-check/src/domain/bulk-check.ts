import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { HASH_BYTES, isHashType } from '@hashcheck/hash-index';
import type { HashType } from '@hashcheck/hash-index';
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
  if (items.length === 0) throw new HashCheckError(CheckCode.MALFORMED_BODY, 'items is empty: send 1 to ' + maxItems + ' items', { statusCode: 400 });
  if (items.length > maxItems) throw new HashCheckError(CheckCode.TOO_MANY_ITEMS, `${items.length} items; at most ${maxItems} per request`, { statusCode: 400, details: { maxItems } });

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
      parts[i] = `{"index":${i},"match":false}`;
      continue;
    }
    matchedItems++;
    tallies.add(type, matches.map((m) => m.list));
    parts[i] = `{"index":${i},"match":true,"matches":[${matches
      .map((m) => `{"list":${JSON.stringify(m.list)},"listName":${JSON.stringify(m.listName)},"category":${JSON.stringify(m.category)},"distance":${m.distance}}`)
      .join(',')}]}`;
  }
  return { body: `{"results":[${parts.join(',')}]}`, items: items.length, byType, matchedItems, matched: tallies.list(), invalid };
}
