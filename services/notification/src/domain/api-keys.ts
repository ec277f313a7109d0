import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';

/**
 * Static API keys for the two kinds of people who call this service: case officers read notices
 * and their proof of delivery; administrators also keep the victim-series registry. Only sha256
 * hashes of the keys are configured; the same format as intake's keys.
 */
export const Scope = { CASE_OFFICER: 'case-officer', ADMIN: 'admin' } as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];
const SCOPES: readonly string[] = Object.values(Scope);

export interface ApiKeyEntry {
  name: string;
  scopes: ScopeValue[];
  sha256: Buffer;
}

export interface Principal {
  name: string;
  scopes: ScopeValue[];
}

const NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;
const VARIABLE = 'NOTIFICATION_API_KEYS';

/** `name:scope[+scope]:sha256hex`, comma-separated, e.g. `officer-1:case-officer:9f86…,ops:admin:2c26…`. */
export function parseApiKeys(text: string | undefined): ApiKeyEntry[] {
  if (!text || text.trim() === '') return [];
  const seen = new Set<string>();
  return text.split(',').map((raw, i) => {
    const [name, scopes, hash, ...rest] = raw.trim().split(':');
    const where = `${VARIABLE} entry ${i + 1}`;
    if (!name || !scopes || !hash || rest.length > 0) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where} must be name:scope[+scope]:sha256hex`);
    if (!NAME.test(name) || name.length > 64) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name ${name} must be a lower-case slug`);
    if (seen.has(name)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name ${name} appears twice`);
    seen.add(name);
    const list = scopes.split('+');
    for (const s of list) {
      if (!SCOPES.includes(s)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: unknown scope ${s} (${SCOPES.join(', ')})`);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(hash)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: give the key as its sha256 (64 hex digits), never in clear`);
    return { name, scopes: list as ScopeValue[], sha256: Buffer.from(hash, 'hex') };
  });
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares the presented key's hash with every entry, each in constant time. */
export function authenticate(entries: readonly ApiKeyEntry[], presented: string): Principal | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKeyEntry | undefined;
  for (const e of entries) if (timingSafeEqual(e.sha256, digest)) found = e;
  return found ? { name: found.name, scopes: found.scopes } : undefined;
}

/** Admin covers everything a case officer may do. */
export function allows(principal: Principal, scope: ScopeValue): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes(Scope.ADMIN);
}
