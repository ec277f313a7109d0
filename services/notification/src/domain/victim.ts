import type { DigestCounts } from './templates';
import { uuidv5 } from './ids';

/**
 * Opt-in victim notification through a victim-support intermediary. The person chooses how often
 * to hear; every digest is delayed (so its timing does not mirror a single detection) and holds
 * counts only.
 */
export const DigestChoice = {
  EACH_DETECTION: 'each-detection',
  DAILY: 'daily',
  ALL_REMOVED: 'all-removed',
} as const;
export type DigestChoiceValue = (typeof DigestChoice)[keyof typeof DigestChoice];
export const DIGEST_CHOICES: readonly DigestChoiceValue[] = Object.values(DigestChoice);

export const VictimCaseStatus = {
  FOUND: 'found',
  NOTIFIED: 'notified',
  REMOVED: 'removed',
  /** Closed as a false positive or withdrawn: not counted as found. */
  DISMISSED: 'dismissed',
} as const;
export type VictimCaseStatusValue = (typeof VictimCaseStatus)[keyof typeof VictimCaseStatus];

export const SeriesChange = { FOUND: 'found', REMOVED: 'removed' } as const;
export type SeriesChangeValue = (typeof SeriesChange)[keyof typeof SeriesChange];

export interface SeriesSchedule {
  choice: DigestChoiceValue;
  delayMs: number;
  nextDigestAt: Date | null;
}

const DAY_MS = 86_400_000;

function startOfNextUtcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS + DAY_MS);
}

/**
 * When the next digest is due after a change, given the counts after it. An already scheduled
 * digest is never moved later (it collects the new change too), except for 'all-removed', which
 * is cancelled as soon as something is online again.
 */
export function nextDigestAt(s: SeriesSchedule, change: SeriesChangeValue, at: Date, counts: Pick<DigestCounts, 'found' | 'removed'>): Date | null {
  switch (s.choice) {
    case DigestChoice.EACH_DETECTION:
      if (change !== SeriesChange.FOUND) return s.nextDigestAt;
      return s.nextDigestAt ?? new Date(at.getTime() + s.delayMs);
    case DigestChoice.DAILY:
      return s.nextDigestAt ?? new Date(startOfNextUtcDay(at).getTime() + s.delayMs);
    case DigestChoice.ALL_REMOVED: {
      const allRemoved = counts.found > 0 && counts.removed === counts.found;
      if (!allRemoved) return null;
      return s.nextDigestAt ?? new Date(at.getTime() + s.delayMs);
    }
  }
}

/** Checked again when the digest is due: the situation may have changed while it waited. */
export function shouldSendDigest(choice: DigestChoiceValue, counts: DigestCounts, hasSentBefore: boolean): boolean {
  switch (choice) {
    case DigestChoice.EACH_DETECTION:
      return counts.newlyFound > 0;
    case DigestChoice.DAILY:
      return counts.newlyFound > 0 || counts.newlyRemoved > 0;
    case DigestChoice.ALL_REMOVED:
      return counts.found > 0 && counts.removed === counts.found && (counts.newlyRemoved > 0 || !hasSentBefore);
  }
}

/**
 * The n-th digest of a series (n = digests sent or given up before it): retries of an unsent
 * digest keep the same id and so the same Message-ID; a digest after a given-up one gets a new id.
 */
export function digestIdFor(seriesId: string, sequence: number): string {
  return uuidv5(`digest\n${seriesId}\n${sequence}`);
}

/** The tracked-case record key: a case may belong to more than one series. */
export function victimCaseKey(seriesId: string, caseId: string): string {
  return `${seriesId}\n${caseId}`;
}
