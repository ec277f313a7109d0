import { domainToASCII } from 'node:url';
import { HOSTNAME_PATTERN } from '@hashcheck/events';

export type UrlResult = { ok: true; url: string; host: string } | { ok: false; reasons: string[] };

export const MAX_URL_LENGTH = 4096;

const HOST_NAME = new RegExp(HOSTNAME_PATTERN);

/**
 * The one form of a reported URL that de-duplication and provider resolution rely on: WHATWG
 * parsing (which already lower-cases the scheme and host, turns IDN into punycode, drops the
 * default port and resolves dot segments), then no fragment, no empty query, no trailing dot on the
 * host and upper-case percent escapes (RFC 3986 6.2.2.1).
 */
export function normaliseUrl(input: string): UrlResult {
  const raw = input.trim();
  if (raw === '') return { ok: false, reasons: ['url is empty'] };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, reasons: [`url is not a valid absolute URL: ${truncate(raw)}`] };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reasons: [`url scheme must be http or https, not ${u.protocol.replace(/:$/, '')}`] };
  if (u.hostname === '') return { ok: false, reasons: ['url has no host'] };
  if (u.hostname.endsWith('.') && !u.hostname.startsWith('[')) {
    const trimmed = u.hostname.replace(/\.+$/, '');
    if (trimmed === '') return { ok: false, reasons: ['url has no host'] };
    u.hostname = trimmed;
  }
  if (!u.hostname.startsWith('[') && !/^[0-9.]+$/.test(u.hostname)) {
    if (domainToASCII(u.hostname) === '' || !u.hostname.includes('.')) {
      return { ok: false, reasons: [`url host ${u.hostname} is not a public domain name`] };
    }
    // WHATWG URL accepts characters no DNS name has (`a!b.example`, `$`, `*`, `~`, labels over 63
    // characters, empty labels). The accepted event's host must match the contract, or the report
    // would be stored with an event that can never be encoded, and its input redelivered for ever.
    if (!HOST_NAME.test(u.hostname)) return { ok: false, reasons: [`url host ${truncate(u.hostname)} is not a valid host name`] };
  }
  u.hash = '';
  let href = u.href;
  // WHATWG keeps a lone trailing "?"; it names the same resource as none.
  if (href.endsWith('?')) href = href.slice(0, -1);
  href = href.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
  if (href.length > MAX_URL_LENGTH) return { ok: false, reasons: [`url is longer than ${MAX_URL_LENGTH} characters once normalised`] };
  return { ok: true, url: href, host: u.hostname };
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
