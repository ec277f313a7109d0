/**
 * The legal clock: a provider must remove an item within the term of its policy category (24 h
 * under the sector agreement; the regulator may set shorter terms per category, e.g. 1 h). The
 * clock starts when the notice is delivered, so the deadline is computed at the moment of the
 * attempt that delivered it, and repeated in the notice itself.
 */
export interface DeadlinePolicy {
  defaultTermMs: number;
  termsByCategory: Readonly<Record<string, number>>;
}

export const DEFAULT_TERM_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_DEADLINE_POLICY: DeadlinePolicy = { defaultTermMs: DEFAULT_TERM_MS, termsByCategory: {} };

export function termFor(category: string | undefined, policy: DeadlinePolicy): number {
  if (category !== undefined && Object.hasOwn(policy.termsByCategory, category)) return policy.termsByCategory[category]!;
  return policy.defaultTermMs;
}

/**
 * An item's deadline. A re-notice carries the deadline enforcement decided (a regulator's
 * instruction may set its own term), which is used as it is; otherwise it is the delivery time
 * plus the term of the provider's category.
 */
export function deadlineFor(deliveredAt: Date, providerCategory: string | undefined, policy: DeadlinePolicy, fixedDeadlineAt?: Date | null): Date {
  if (fixedDeadlineAt) return new Date(fixedDeadlineAt.getTime());
  return new Date(deliveredAt.getTime() + termFor(providerCategory, policy));
}
