import { domainToASCII } from 'node:url';

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

export type DomainResult = { ok: true; domain: string } | { ok: false; reason: string };

/** Lower-case punycode form of a domain (IDN allowed), without a trailing dot; or why it is not one. */
export function normaliseDomain(input: string): DomainResult {
  const raw = input.trim().replace(/\.$/, '');
  if (raw === '') return { ok: false, reason: 'domain is empty' };
  if (raw.includes('*')) return { ok: false, reason: `${input}: give the domain without a wildcard; it covers its sub-domains` };
  const ascii = domainToASCII(raw);
  if (ascii === '') return { ok: false, reason: `${input} is not a valid domain name` };
  if (ascii.length > 253) return { ok: false, reason: `${input} is longer than 253 characters` };
  const labels = ascii.split('.');
  if (labels.some((l) => !LABEL.test(l))) return { ok: false, reason: `${input} is not a valid domain name` };
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return { ok: false, reason: `${input} looks like an IP address; put addresses in ipRanges` };
  return { ok: true, domain: ascii };
}
