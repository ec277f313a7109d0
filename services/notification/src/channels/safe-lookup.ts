import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { checkResolved, type AllowedRange, type LookupAddress } from '../domain/ssrf';

export type Resolver = (hostname: string, options: dns.LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => void;

export const SSRF_REFUSED = 'HC_SSRF_REFUSED';

/**
 * A `lookup` for net/tls.connect that judges the addresses the socket is about to use. Checking
 * at connect time, not before, is what defeats DNS rebinding: there is no second resolution
 * between the check and the connection for an attacker's name server to answer differently.
 */
export function guardedLookup(allowList: readonly AllowedRange[], resolver: Resolver = dns.lookup as unknown as Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      const list: LookupAddress[] = addresses.map((a) => ({ address: a.address, family: a.family }));
      const verdict = checkResolved(hostname, list, allowList);
      if (!verdict.ok) {
        callback(Object.assign(new Error(verdict.reason), { code: SSRF_REFUSED }), '', 0);
        return;
      }
      if ((options as dns.LookupOptions).all) {
        (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      } else {
        const first = addresses[0]!;
        callback(null, first.address, first.family);
      }
    });
  };
}
