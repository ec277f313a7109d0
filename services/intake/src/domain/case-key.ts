import { createHash } from 'node:crypto';
import type { HashesValue } from '@hashcheck/events';

/** Strongest first: the content identity of a report is its strongest hash. */
const CONTENT_PRIORITY = ['sha256', 'sha1', 'md5', 'pdq'] as const;

/**
 * sha256 over (content, normalised URL). Two reports of the same content at the same URL share it,
 * provided they carry the same strongest hash type: a report with only an MD5 and one with a
 * SHA-256 of the same file cannot be known to be the same content.
 */
export function caseKeyOf(normalisedUrl: string, hashes: HashesValue): string {
  const type = CONTENT_PRIORITY.find((t) => hashes[t] !== undefined);
  if (!type) throw new Error('caseKeyOf: no hash');
  return createHash('sha256').update(`hashcheck-case-v1\n${type}:${hashes[type]}\n${normalisedUrl}`).digest('hex');
}

/** A case is one period during which the same content at the same URL is reported and not closed. */
export function caseIdOf(caseKey: string, generation: number): string {
  return `${caseKey}.${generation}`;
}

/** The parts caseIdOf joined; undefined for an id it did not make. */
export function parseCaseId(caseId: string): { caseKey: string; generation: number } | undefined {
  const m = /^([0-9a-f]{64})\.(\d+)$/.exec(caseId);
  return m ? { caseKey: m[1]!, generation: Number(m[2]) } : undefined;
}

export function caseKeyOfCaseId(caseId: string): string | undefined {
  return parseCaseId(caseId)?.caseKey;
}
