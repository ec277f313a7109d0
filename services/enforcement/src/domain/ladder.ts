import { parseDuration } from './duration';

/**
 * The escalation ladder, from configuration. After the first notice's deadline passes, each
 * missed deadline moves a case one step up. Steps that need a case officer wait for a decision.
 */
export interface PenaltyTerms {
  /** Forfeited per period of non-compliance. */
  amountEur: number;
  periodMs: number;
  /** The most the order can forfeit in total. */
  capEur: number;
  /** Time from the order's date before accrual starts. */
  graceMs: number;
  /** Whether a period that has begun counts in full ("per day or part of a day"). */
  partialPeriodCounts: boolean;
}

export interface LadderStep {
  /** Slug used in events and the evidence file, e.g. renotice, binding-instruction. */
  name: string;
  /** Ask notification to send the provider a notice for this step. */
  notify: boolean;
  requiresOfficer: boolean;
  /** Time to comply after the step is issued; absent: the provider's applicable deadline. */
  deadlineMs?: number;
  penalty?: PenaltyTerms;
  fineEur?: number;
}

export interface Ladder {
  steps: readonly LadderStep[];
  /** Where a re-upload case goes when its first deadline passes. */
  reuploadStartIndex: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const DEFAULT_LADDER_STEPS: readonly LadderStep[] = Object.freeze([
  { name: 'renotice', notify: true, requiresOfficer: false },
  { name: 'reminder', notify: true, requiresOfficer: false, deadlineMs: DAY },
  { name: 'binding-instruction', notify: false, requiresOfficer: true, deadlineMs: DAY },
  { name: 'penalty-order', notify: false, requiresOfficer: true, penalty: { amountEur: 5_000, periodMs: DAY, capEur: 50_000, graceMs: 0, partialPeriodCounts: true } },
  { name: 'fine-proposal', notify: false, requiresOfficer: true, deadlineMs: 14 * DAY, fineEur: 100_000 },
]);
export const DEFAULT_REUPLOAD_START = 'binding-instruction';

const SLUG = /^[a-z][a-z0-9-]*$/;

/**
 * Parses the ladder from its JSON configuration, e.g.
 * `[{"name":"renotice","notify":true},{"name":"penalty-order","requiresOfficer":true,
 *   "penalty":{"amountEur":5000,"period":"24h","capEur":50000}}]`.
 * Durations are strings like `24h`. Errors name the step and field.
 */
export function parseLadderSteps(json: string): LadderStep[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new RangeError(`is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new RangeError('must be a non-empty JSON array of steps');
  const names = new Set<string>();
  return raw.map((s: unknown, i) => {
    const where = `step ${i}`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new RangeError(`${where} is not an object`);
    const o = s as Record<string, unknown>;
    const known = ['name', 'notify', 'requiresOfficer', 'deadline', 'penalty', 'fineEur'];
    const unknown = Object.keys(o).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new RangeError(`${where} has unknown field(s) ${unknown.join(', ')}`);
    if (typeof o.name !== 'string' || !SLUG.test(o.name) || o.name.length > 64) throw new RangeError(`${where}.name must be a lower-case slug`);
    if (names.has(o.name)) throw new RangeError(`${where}.name ${o.name} is used twice`);
    names.add(o.name);
    const step: LadderStep = { name: o.name, notify: bool(o.notify, `${where}.notify`, false), requiresOfficer: bool(o.requiresOfficer, `${where}.requiresOfficer`, false) };
    if (o.deadline !== undefined) step.deadlineMs = duration(o.deadline, `${where}.deadline`);
    if (o.fineEur !== undefined) step.fineEur = amount(o.fineEur, `${where}.fineEur`);
    if (o.penalty !== undefined) {
      if (typeof o.penalty !== 'object' || o.penalty === null) throw new RangeError(`${where}.penalty is not an object`);
      const p = o.penalty as Record<string, unknown>;
      const periodMs = duration(p.period, `${where}.penalty.period`);
      if (periodMs <= 0) throw new RangeError(`${where}.penalty.period must be positive`);
      const amountEur = amount(p.amountEur, `${where}.penalty.amountEur`);
      if (amountEur <= 0) throw new RangeError(`${where}.penalty.amountEur must be positive`);
      step.penalty = {
        amountEur,
        periodMs,
        capEur: amount(p.capEur, `${where}.penalty.capEur`),
        graceMs: p.grace === undefined ? 0 : duration(p.grace, `${where}.penalty.grace`),
        partialPeriodCounts: bool(p.partialPeriodCounts, `${where}.penalty.partialPeriodCounts`, true),
      };
      if (penaltyRunMs(step.penalty) > MAX_PENALTY_RUN_MS) throw new RangeError(`${where}.penalty would run for more than 10 years before reaching its cap`);
    }
    return step;
  });
}

export function buildLadder(steps: readonly LadderStep[], reuploadStart: string): Ladder {
  const idx = steps.findIndex((s) => s.name === reuploadStart);
  if (idx < 0) throw new RangeError(`re-upload start step "${reuploadStart}" is not a step of the ladder (${steps.map((s) => s.name).join(', ')})`);
  return { steps, reuploadStartIndex: idx };
}

export const DEFAULT_LADDER: Ladder = buildLadder(DEFAULT_LADDER_STEPS, DEFAULT_REUPLOAD_START);

function bool(v: unknown, where: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new RangeError(`${where} must be true or false`);
  return v;
}

function duration(v: unknown, where: string): number {
  if (typeof v !== 'string' && typeof v !== 'number') throw new RangeError(`${where} must be a duration like "24h"`);
  try {
    return parseDuration(v);
  } catch (err) {
    throw new RangeError(`${where}: ${(err as Error).message}`);
  }
}

function amount(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${where} must be a non-negative amount in euros`);
  return v;
}

export interface PenaltyAccrual {
  periods: number;
  amountEur: number;
  capped: boolean;
}

/** What an order subject to a penalty has forfeited by `until`, counted from the order's date. */
export function penaltyAccrued(terms: PenaltyTerms, orderDate: Date, until: Date): PenaltyAccrual {
  const start = orderDate.getTime() + terms.graceMs;
  const elapsed = until.getTime() - start;
  if (elapsed <= 0) return { periods: 0, amountEur: 0, capped: false };
  const periods = terms.partialPeriodCounts ? Math.ceil(elapsed / terms.periodMs) : Math.floor(elapsed / terms.periodMs);
  const raw = periods * terms.amountEur;
  return raw >= terms.capEur ? { periods, amountEur: terms.capEur, capped: true } : { periods, amountEur: raw, capped: false };
}

/** An order that takes longer than this to reach its cap is a configuration mistake. */
export const MAX_PENALTY_RUN_MS = 10 * 366 * DAY;

/** How long an order runs from its date until it has forfeited its cap. */
export function penaltyRunMs(terms: PenaltyTerms): number {
  return terms.graceMs + Math.max(1, Math.ceil(terms.capEur / terms.amountEur)) * terms.periodMs;
}

/** When the order has forfeited its cap: the end of the last period that can still accrue. */
export function penaltyExhaustedAt(terms: PenaltyTerms, orderDate: Date): Date {
  return new Date(orderDate.getTime() + penaltyRunMs(terms));
}

/** The deadline a step gives the provider once issued at `issuedAt`. */
export function stepDeadline(step: LadderStep, issuedAt: Date, applicableMs: number): Date {
  if (step.penalty) return penaltyExhaustedAt(step.penalty, issuedAt);
  return new Date(issuedAt.getTime() + (step.deadlineMs ?? applicableMs));
}
