import type { ProvidersStateData } from '@hashcheck/events';
import { normaliseDomain } from './domain';
import { parseCidr, parseIp, type IpValue } from './net';

export type Provider = ProvidersStateData;

export interface Resolution {
  providerId: string;
  /** What decided it: the most specific domain suffix, or the most specific IP range. */
  by: 'domain' | 'ip';
  matched: string;
}

interface RangeEntry {
  providerId: string;
  text: string;
}

/**
 * The providers one service knows, indexed for `resolve(host, ip)`: domain suffixes in a map walked
 * label by label, IP ranges in one map per prefix length walked from the longest prefix down. Both
 * are O(labels) / O(address bits) per lookup, independent of how many providers exist.
 */
export class ProviderIndex {
  readonly #providers = new Map<string, Provider>();
  readonly #domains = new Map<string, string[]>();
  readonly #ranges = { 4: new Map<number, Map<bigint, RangeEntry[]>>(), 6: new Map<number, Map<bigint, RangeEntry[]>>() };

  get size(): number {
    let n = 0;
    for (const p of this.#providers.values()) if (!p.deleted) n++;
    return n;
  }

  get(id: string): Provider | undefined {
    const p = this.#providers.get(id);
    return p && !p.deleted ? p : undefined;
  }

  /** Including deleted ones, as the compacted topic has them. */
  revisionOf(id: string): number {
    return this.#providers.get(id)?.revision ?? 0;
  }

  all(): Provider[] {
    return [...this.#providers.values()].filter((p) => !p.deleted);
  }

  /** Applies a provider state; an older or equal revision than the one held is ignored (replays, reordering). */
  apply(state: Provider): boolean {
    const current = this.#providers.get(state.id);
    if (current && current.revision >= state.revision) return false;
    if (current) this.#unindex(current);
    this.#providers.set(state.id, state);
    if (!state.deleted) this.#index(state);
    return true;
  }

  resolve(host: string, ip?: string | null): Resolution | undefined {
    const h = host.replace(/^\[(.*)\]$/, '$1');
    const hostIp = parseIp(h);
    if (!hostIp) {
      const byDomain = this.#resolveDomain(h);
      if (byDomain) return byDomain;
    }
    const addr = hostIp ?? (ip ? parseIp(ip) : undefined);
    return addr ? this.#resolveIp(addr) : undefined;
  }

  #resolveDomain(host: string): Resolution | undefined {
    const n = normaliseDomain(host);
    if (!n.ok) return undefined;
    const labels = n.domain.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const owners = this.#domains.get(suffix);
      // Two providers claiming one domain is refused by the registry; if it happens anyway, the
      // lowest id wins so every service resolves the same way.
      if (owners && owners.length > 0) return { providerId: [...owners].sort()[0]!, by: 'domain', matched: suffix };
    }
    return undefined;
  }

  #resolveIp(ip: IpValue): Resolution | undefined {
    const bits = ip.version === 4 ? 32 : 128;
    const byPrefix = this.#ranges[ip.version];
    const prefixes = [...byPrefix.keys()].sort((a, b) => b - a);
    for (const prefix of prefixes) {
      const net = prefix === 0 ? 0n : (ip.value >> BigInt(bits - prefix)) << BigInt(bits - prefix);
      const entries = byPrefix.get(prefix)?.get(net);
      if (entries && entries.length > 0) {
        const winner = [...entries].sort((a, b) => a.providerId.localeCompare(b.providerId))[0]!;
        return { providerId: winner.providerId, by: 'ip', matched: winner.text };
      }
    }
    return undefined;
  }

  #index(p: Provider): void {
    for (const d of p.domains) {
      const n = normaliseDomain(d);
      if (!n.ok) continue;
      const owners = this.#domains.get(n.domain) ?? [];
      owners.push(p.id);
      this.#domains.set(n.domain, owners);
    }
    for (const r of p.ipRanges) {
      const c = parseCidr(r);
      if (!c.ok) continue;
      const byPrefix = this.#ranges[c.cidr.version];
      let nets = byPrefix.get(c.cidr.prefix);
      if (!nets) byPrefix.set(c.cidr.prefix, (nets = new Map()));
      const entries = nets.get(c.cidr.network) ?? [];
      entries.push({ providerId: p.id, text: c.text });
      nets.set(c.cidr.network, entries);
    }
  }

  #unindex(p: Provider): void {
    for (const d of p.domains) {
      const n = normaliseDomain(d);
      if (!n.ok) continue;
      const owners = (this.#domains.get(n.domain) ?? []).filter((id) => id !== p.id);
      if (owners.length > 0) this.#domains.set(n.domain, owners);
      else this.#domains.delete(n.domain);
    }
    for (const r of p.ipRanges) {
      const c = parseCidr(r);
      if (!c.ok) continue;
      const nets = this.#ranges[c.cidr.version].get(c.cidr.prefix);
      const entries = (nets?.get(c.cidr.network) ?? []).filter((e) => e.providerId !== p.id);
      if (entries.length > 0) nets?.set(c.cidr.network, entries);
      else nets?.delete(c.cidr.network);
    }
  }
}
