import { createHash } from 'node:crypto';
import type { HashesValue, ReportsSubmittedData } from '@hashcheck/events';
import { canonicalIp } from '@hashcheck/providers';
import { caseKeyOf } from './case-key';
import { normaliseHashes } from './normalise-hashes';
import { normaliseUrl } from './normalise-url';

/** A submitted report after normalisation: what intake stores and what the accepted event repeats. */
export interface NormalisedReport {
  reportId: string;
  source: string;
  url: string;
  host: string;
  ip?: string;
  hashes: HashesValue;
  observedAt?: string;
  reporter?: string;
  contentType?: ReportsSubmittedData['contentType'];
  categoryHint?: string;
  caseKey: string;
  /** Identity of the report's substance (source, URL, hashes): a reused reportId with another one is a conflict. */
  fingerprint: string;
}

export type NormaliseResult = { ok: true; report: NormalisedReport } | { ok: false; reasons: string[] };

/** Clock skew a reporter's observedAt may have before it counts as in the future. */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/**
 * Semantic checks and normalisation of a schema-valid submission. Collects every reason rather than
 * stopping at the first, so a partner can fix a report in one go.
 */
export function normaliseSubmission(data: ReportsSubmittedData, now: Date = new Date()): NormaliseResult {
  const reasons: string[] = [];
  const url = normaliseUrl(data.url);
  if (!url.ok) reasons.push(...url.reasons);
  const hashes = normaliseHashes(data.hashes as Record<string, unknown>);
  if (!hashes.ok) reasons.push(...hashes.reasons);
  let ip: string | undefined;
  if (data.ip !== undefined) {
    ip = canonicalIp(data.ip);
    if (!ip) reasons.push(`ip ${data.ip} is not an IPv4 or IPv6 address`);
  }
  let observedAt: string | undefined;
  if (data.observedAt !== undefined) {
    const t = new Date(data.observedAt);
    if (Number.isNaN(t.getTime())) reasons.push('observedAt is not a date-time');
    else if (t.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) reasons.push(`observedAt ${data.observedAt} is in the future`);
    else observedAt = t.toISOString();
  }
  if (!url.ok || !hashes.ok || reasons.length > 0) return { ok: false, reasons };
  const report: NormalisedReport = {
    reportId: data.reportId,
    source: data.source,
    url: url.url,
    host: url.host,
    hashes: hashes.hashes,
    caseKey: caseKeyOf(url.url, hashes.hashes),
    fingerprint: fingerprintOf(data.source, url.url, hashes.hashes),
  };
  if (ip !== undefined) report.ip = ip;
  if (observedAt !== undefined) report.observedAt = observedAt;
  if (data.reporter !== undefined) report.reporter = data.reporter;
  if (data.contentType !== undefined) report.contentType = data.contentType;
  if (data.categoryHint !== undefined) report.categoryHint = data.categoryHint;
  return { ok: true, report };
}

export function fingerprintOf(source: string, url: string, hashes: HashesValue): string {
  const sorted = Object.entries(hashes).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify([source, url, sorted])).digest('hex');
}
