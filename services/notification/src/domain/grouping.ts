import { uuidv5 } from './ids';

/**
 * Grouping: every matched report (or re-notice request) becomes one item with a deterministic key,
 * stored durably. Items of the same group wait until the first of them has waited the window, then
 * all waiting items of that group go out in one notice. The key is the idempotency guard: the same
 * case is never put into a second initial notice, whatever is redelivered or replayed.
 */

export const ItemKind = { INITIAL: 'initial', RENOTICE: 'renotice' } as const;
export type ItemKindValue = (typeof ItemKind)[keyof typeof ItemKind];

/** A `notices.sent` event lists at most this many items (the contract's maxItems). */
export const MAX_ITEMS_PER_NOTICE = 1000;

/** One initial notice per case: a case re-matched or redelivered is the same item. */
export function initialItemKey(caseId: string): string {
  return `initial:${caseId}`;
}

/** One re-notice item per (request, case): enforcement's requestId is deterministic per attempt. */
export function renoticeItemKey(requestId: string, caseId: string): string {
  return `renotice:${requestId}:${caseId}`;
}

/**
 * Initial items group per provider (its registry entry is the abuse contact: one webhook and its
 * e-mail addresses). A re-notice request is already a group chosen by enforcement and goes out
 * as it is, with its own requestId.
 */
export function groupKeyFor(kind: ItemKindValue, providerId: string | null, requestId?: string): string {
  if (kind === ItemKind.RENOTICE) {
    if (!requestId) throw new Error('a re-notice item needs its requestId');
    return `request:${requestId}`;
  }
  return providerId === null ? 'unresolved' : `provider:${providerId}`;
}

export interface GroupingPolicy {
  /** How long the first item of a group waits for others. */
  windowMs: number;
  /** Re-notices were grouped by enforcement already; they wait this long (0 = at the next poll). */
  renoticeWindowMs: number;
  maxItemsPerNotice: number;
}

export const DEFAULT_GROUPING: GroupingPolicy = { windowMs: 60_000, renoticeWindowMs: 0, maxItemsPerNotice: MAX_ITEMS_PER_NOTICE };

/** When an item makes its group due, counted from when this service first stored it. */
export function itemDueAt(kind: ItemKindValue, receivedAt: Date, policy: GroupingPolicy): Date {
  const wait = kind === ItemKind.RENOTICE ? policy.renoticeWindowMs : policy.windowMs;
  return new Date(receivedAt.getTime() + wait);
}

export interface GroupableItem {
  key: string;
  receivedAt: Date;
  dueAt: Date;
}

export interface PlannedNotice<T extends GroupableItem> {
  noticeId: string;
  windowStart: Date;
  items: T[];
}

/**
 * Decides which notices to seal for one group from its unassigned items. The window opens with the
 * oldest item: once that one is due, every waiting item of the group goes with it (in chunks of at
 * most `maxItemsPerNotice`). Returns nothing while the oldest item is still inside its window.
 */
export function planNotices<T extends GroupableItem>(groupKey: string, waiting: readonly T[], now: Date, policy: Pick<GroupingPolicy, 'maxItemsPerNotice'>): PlannedNotice<T>[] {
  if (waiting.length === 0) return [];
  const sorted = [...waiting].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const first = sorted[0]!;
  if (first.dueAt.getTime() > now.getTime()) return [];
  const size = Math.max(1, policy.maxItemsPerNotice);
  const plans: PlannedNotice<T>[] = [];
  for (let i = 0; i < sorted.length; i += size) {
    const items = sorted.slice(i, i + size);
    const windowStart = items[0]!.receivedAt;
    plans.push({ noticeId: noticeIdFor(groupKey, windowStart, items.map((it) => it.key)), windowStart, items });
  }
  return plans;
}

/**
 * A stable notice id from (group, window start, item keys). Item keys are never assigned twice, so
 * the id is unique, and a re-run of the same sealing step after a crash computes the same id.
 */
export function noticeIdFor(groupKey: string, windowStart: Date, itemKeys: readonly string[]): string {
  const keys = [...itemKeys].sort();
  return uuidv5(['notice', groupKey, windowStart.toISOString(), ...keys].join('\n'));
}
