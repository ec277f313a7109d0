/**
 * Which removal deadline applies to a provider at a moment: a regulator's order for that provider
 * (e.g. 1 hour) wins; otherwise the deadline for the provider's category; otherwise the default
 * (24 hours under the sector agreement).
 */
export interface DeadlinePolicyConfig {
  defaultMs: number;
  byCategoryMs: Readonly<Record<string, number>>;
}

export interface DeadlineOrder {
  providerId: string;
  deadlineMs: number;
  /** The regulator's reference for the order, quoted in the evidence file. */
  reference: string;
  validFrom: Date;
  validUntil: Date | null;
}

export const DeadlineSource = { ORDER: 'order', CATEGORY: 'category', DEFAULT: 'default' } as const;
export type DeadlineSourceValue = (typeof DeadlineSource)[keyof typeof DeadlineSource];

export interface AppliedDeadline {
  ms: number;
  source: DeadlineSourceValue;
  /** Order reference or category name. */
  reference?: string;
}

export function applicableDeadline(
  config: DeadlinePolicyConfig,
  input: { category?: string | null; orders?: readonly DeadlineOrder[]; at: Date },
): AppliedDeadline {
  const at = input.at.getTime();
  const inForce = (input.orders ?? []).filter((o) => o.validFrom.getTime() <= at && (o.validUntil === null || at < o.validUntil.getTime()));
  if (inForce.length > 0) {
    // Two orders in force at once: the stricter one binds.
    const strictest = inForce.reduce((a, b) => (b.deadlineMs < a.deadlineMs ? b : a));
    return { ms: strictest.deadlineMs, source: DeadlineSource.ORDER, reference: strictest.reference };
  }
  const category = input.category ?? undefined;
  if (category !== undefined && Object.hasOwn(config.byCategoryMs, category)) {
    return { ms: config.byCategoryMs[category]!, source: DeadlineSource.CATEGORY, reference: category };
  }
  return { ms: config.defaultMs, source: DeadlineSource.DEFAULT };
}

/**
 * The deadline the clock runs to for a notice: the one the notice stated, unless the applicable
 * policy is stricter (an order binds the provider whatever a notice said). Both are kept in the
 * evidence file.
 */
export function effectiveDeadline(noticeDeadlineAt: Date, sentAt: Date, applied: AppliedDeadline): { deadlineAt: Date; decidedBy: 'notice' | DeadlineSourceValue } {
  const policyAt = sentAt.getTime() + applied.ms;
  return policyAt < noticeDeadlineAt.getTime()
    ? { deadlineAt: new Date(policyAt), decidedBy: applied.source }
    : { deadlineAt: noticeDeadlineAt, decidedBy: 'notice' };
}
