import ipaddr from 'ipaddr.js';

/**
 * Server-side request forgery guard for provider webhook URLs. Only global unicast addresses are
 * reachable: private, loopback, link-local, unique-local, multicast, unspecified, reserved and
 * shared (CGNAT) ranges are refused, IPv4-mapped IPv6 addresses are judged as the IPv4 address they
 * carry, and v6 forms that embed or tunnel to IPv4 (NAT64, 6to4, Teredo, IPv4-compatible) are
 * refused too because they can lead back into a private network. Operators allow-list exceptions
 * by CIDR (tests allow 127.0.0.1/32 for their loopback receiver).
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface AllowedRange {
  text: string;
  range: [Address, number];
}

export type AddressVerdict = { allowed: true; address: string } | { allowed: false; address: string; reason: string };

/** The one range class that is reachable without being allow-listed. */
const PUBLIC_RANGE = 'unicast';

// ::/96 (deprecated IPv4-compatible) is not one of ipaddr.js's named ranges, so it would pass as unicast.
const IPV4_COMPATIBLE: [ipaddr.IPv6, number] = ipaddr.IPv6.parseCIDR('::/96');

export function parseAllowList(spec: string): AllowedRange[] {
  const out: AllowedRange[] = [];
  for (const raw of spec.split(',')) {
    const text = raw.trim();
    if (text === '') continue;
    const cidr = text.includes('/') ? text : `${text}/${ipaddr.IPv4.isValidFourPartDecimal(text) ? 32 : 128}`;
    let range: [Address, number];
    try {
      range = ipaddr.parseCIDR(cidr);
    } catch {
      throw new Error(`bad allow-list entry "${text}": expected an IP address or CIDR`);
    }
    out.push({ text, range });
  }
  return out;
}

function normalise(address: Address): Address {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address();
  return address;
}

function allowListed(address: Address, allowList: readonly AllowedRange[]): boolean {
  return allowList.some(({ range }) => {
    let candidate = address;
    // An allow-listed IPv4 range also covers its IPv4-mapped IPv6 form, and vice versa.
    if (range[0].kind() !== candidate.kind()) {
      if (candidate.kind() === 'ipv4') candidate = (candidate as ipaddr.IPv4).toIPv4MappedAddress();
      else if ((candidate as ipaddr.IPv6).isIPv4MappedAddress()) candidate = (candidate as ipaddr.IPv6).toIPv4Address();
      else return false;
      if (range[0].kind() !== candidate.kind()) return false;
    }
    return candidate.match(range);
  });
}

/** Judges one resolved address. Strings that are not IP addresses are refused. */
export function checkAddress(text: string, allowList: readonly AllowedRange[] = []): AddressVerdict {
  // Zone ids (fe80::1%eth0) never belong to a public address.
  const bare = text.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare) || bare.includes('%')) return { allowed: false, address: text, reason: 'not an IP address' };
  const parsed = ipaddr.parse(bare);
  if (allowListed(parsed, allowList)) return { allowed: true, address: text };
  const address = normalise(parsed);
  const range = address.range();
  if (range !== PUBLIC_RANGE) {
    const mapped = parsed.kind() !== address.kind() ? ' (IPv4-mapped)' : '';
    return { allowed: false, address: text, reason: `${range} address${mapped}` };
  }
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).match(IPV4_COMPATIBLE)) {
    return { allowed: false, address: text, reason: 'IPv4-compatible IPv6 address' };
  }
  return { allowed: true, address: text };
}

export type UrlVerdict =
  | { ok: true; url: URL; host: string; literalAddress?: string }
  | { ok: false; reason: string };

/**
 * Static checks on a webhook URL before any DNS: scheme, no credentials, and — when the host is an
 * IP literal — the address itself (net.connect does no lookup for literals, so this is the check).
 */
export function checkWebhookUrl(raw: string, options: { allowHttp: boolean; allowList?: readonly AllowedRange[] }): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'webhook URL does not parse' };
  }
  if (url.protocol !== 'https:' && !(options.allowHttp && url.protocol === 'http:')) {
    return { ok: false, reason: `webhook URL scheme ${url.protocol.replace(':', '')} is not allowed` };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'webhook URL must not carry credentials' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return { ok: false, reason: 'webhook URL has no host' };
  if (ipaddr.isValid(host)) {
    const verdict = checkAddress(host, options.allowList ?? []);
    if (!verdict.allowed) return { ok: false, reason: `webhook address ${host} refused: ${verdict.reason}` };
    return { ok: true, url, host, literalAddress: host };
  }
  return { ok: true, url, host };
}

export interface LookupAddress {
  address: string;
  family: number;
}

/**
 * Judges every address a name resolved to. One refused address refuses the lot: a name that points
 * both outside and inside is exactly what a rebinding attack looks like.
 */
export function checkResolved(host: string, addresses: readonly LookupAddress[], allowList: readonly AllowedRange[]): { ok: true } | { ok: false; reason: string } {
  if (addresses.length === 0) return { ok: false, reason: `${host} did not resolve` };
  for (const a of addresses) {
    const verdict = checkAddress(a.address, allowList);
    if (!verdict.allowed) return { ok: false, reason: `webhook host ${host} resolves to ${a.address}: ${verdict.reason}` };
  }
  return { ok: true };
}
