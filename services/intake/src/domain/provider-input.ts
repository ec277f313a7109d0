import { normaliseDomain, parseCidr } from '@hashcheck/providers';

/** What an administrator sends (HTTP); the secret in clear only here, on its way to being encrypted. */
export interface ProviderInput {
  name: string;
  country: string;
  abuseContacts: string[];
  webhook?: { url: string; secret?: string } | null;
  domains: string[];
  ipRanges: string[];
  category: string;
}

export interface NormalisedProvider {
  name: string;
  country: string;
  abuseContacts: string[];
  /** undefined: no webhook; secret undefined: keep the stored one (or none). */
  webhook?: { url: string; secret?: string };
  domains: string[];
  ipRanges: string[];
  category: string;
}

export type ProviderInputResult = { ok: true; value: NormalisedProvider } | { ok: false; reasons: string[] };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Canonical provider fields, so that two spellings of one domain or range are one entry. */
export function normaliseProviderInput(input: ProviderInput): ProviderInputResult {
  const reasons: string[] = [];
  const domains = new Set<string>();
  for (const d of input.domains) {
    const n = normaliseDomain(d);
    if (n.ok) domains.add(n.domain);
    else reasons.push(`domains: ${n.reason}`);
  }
  const ranges = new Set<string>();
  for (const r of input.ipRanges) {
    const c = parseCidr(r);
    if (c.ok) ranges.add(c.text);
    else reasons.push(`ipRanges: ${c.reason}`);
  }
  const contacts = [...new Set(input.abuseContacts.map((c) => c.trim()))];
  let webhook: NormalisedProvider['webhook'];
  if (input.webhook) {
    let u: URL | undefined;
    try {
      u = new URL(input.webhook.url);
    } catch {
      reasons.push('webhook.url is not a valid URL');
    }
    if (u) {
      // Plain HTTP only to this machine (the demo's local receiver); a notice never travels unencrypted.
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) reasons.push('webhook.url must use https');
      if (u.username || u.password) reasons.push('webhook.url must not contain credentials');
      u.hash = '';
      webhook = { url: u.href };
      if (input.webhook.secret !== undefined) webhook.secret = input.webhook.secret;
    }
  }
  if (contacts.length === 0 && !input.webhook) reasons.push('give at least one abuse contact or a webhook, or notices cannot be delivered');
  if (reasons.length > 0) return { ok: false, reasons };
  const value: NormalisedProvider = {
    name: input.name.trim(),
    country: input.country.toUpperCase(),
    abuseContacts: contacts,
    domains: [...domains].sort(),
    ipRanges: [...ranges].sort(),
    category: input.category,
  };
  if (webhook) value.webhook = webhook;
  return { ok: true, value };
}
