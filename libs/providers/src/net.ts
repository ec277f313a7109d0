import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as a number: 32-bit for IPv4, 128-bit for IPv6 (IPv4-mapped IPv6 counts as IPv4). */
export interface IpValue {
  version: 4 | 6;
  value: bigint;
}

export interface CidrValue {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

function parseIPv4(s: string): bigint {
  let v = 0n;
  for (const part of s.split('.')) v = (v << 8n) | BigInt(Number(part));
  return v;
}

function parseIPv6(s: string): bigint | IpValue {
  let text = s.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded dotted quad (::ffff:192.0.2.1) becomes two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** Parses an IPv4 or IPv6 address; undefined when it is neither. */
export function parseIp(input: string): IpValue | undefined {
  const s = input.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(s)) return { version: 4, value: parseIPv4(s) };
  if (isIPv6(s)) {
    const v = parseIPv6(s) as bigint;
    if (v >> 32n === 0xffffn && (v & ~((1n << 32n) - 1n)) === V4_MAPPED_PREFIX) return { version: 4, value: v & 0xffffffffn };
    return { version: 6, value: v };
  }
  return undefined;
}

export function formatIp(ip: IpValue): string {
  if (ip.version === 4) return [24n, 16n, 8n, 0n].map((s) => ((ip.value >> s) & 0xffn).toString()).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((ip.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Canonical text of an address (RFC 5952 for IPv6), or undefined when invalid. */
export function canonicalIp(input: string): string | undefined {
  const ip = parseIp(input);
  return ip ? formatIp(ip) : undefined;
}

export type CidrResult = { ok: true; cidr: CidrValue; text: string } | { ok: false; reason: string };

/** Parses a CIDR range strictly: host bits must be zero, so a typo is not silently widened. */
export function parseCidr(input: string): CidrResult {
  const s = input.trim();
  const slash = s.indexOf('/');
  if (slash < 0) return { ok: false, reason: `${s} is not a CIDR range (missing /prefix)` };
  const addr = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  const ip = isIPv4(addr) ? { version: 4 as const, value: parseIPv4(addr) } : isIPv6(addr) ? { version: 6 as const, value: parseIPv6(addr) as bigint } : undefined;
  if (!ip) return { ok: false, reason: `${s}: ${addr} is not an IP address` };
  const bits = ip.version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return { ok: false, reason: `${s}: prefix must be 0-${bits}` };
  const prefix = Number(prefixText);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((ip.value & hostMask) !== 0n) {
    const network = { version: ip.version, value: ip.value & ~hostMask };
    return { ok: false, reason: `${s} has host bits set; the range is ${formatIp(network)}/${prefix}` };
  }
  return { ok: true, cidr: { version: ip.version, network: ip.value, prefix }, text: `${formatIp(ip)}/${prefix}` };
}

export function cidrContains(cidr: CidrValue, ip: IpValue): boolean {
  if (cidr.version !== ip.version) return false;
  const bits = cidr.version === 4 ? 32 : 128;
  const shift = BigInt(bits - cidr.prefix);
  return ip.value >> shift === cidr.network >> shift;
}
