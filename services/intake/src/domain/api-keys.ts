import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';

export const Scope = { HOTLINE: 'hotline', ADMIN: 'admin' } as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];

export interface ApiKeyEntry {
  /** Who holds the key; also the `source` of the reports it submits. */
  name: string;
  scopes: ScopeValue[];
  sha256: Buffer;
}

export interface Principal {
  name: string;
  scopes: ScopeValue[];
}

const NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

/**
 * `INTAKE_API_KEYS`: comma-separated `name:scope[+scope]:sha256-hex-of-key` entries, e.g.
 * `hotline:hotline:9f86…,ops:admin+hotline:2c26…`. Only hashes live in configuration; the keys
 * themselves are handed to their holders (generate with `openssl rand -hex 32`, hash with
 * `printf %s "$KEY" | sha256sum`).
 */
export function parseApiKeys(text: string | undefined): ApiKeyEntry[] {
  if (!text || text.trim() === '') return [];
  const seen = new Set<string>();
  return text.split(',').map((raw, i) => {
    const entry = raw.trim();
    const [name, scopes, hash, ...rest] = entry.split(':');
    const where = `INTAKE_API_KEYS entry ${i + 1}`;
    if (!name || !scopes || !hash || rest.length > 0) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where} must be name:scope[+scope]:sha256hex`);
    if (!NAME.test(name) || name.length > 64) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name ${name} must be a lower-case slug (it becomes the report source)`);
    if (seen.has(name)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name ${name} appears twice`);
    seen.add(name);
    const list = scopes.split('+');
    for (const s of list) {
      if (s !== Scope.HOTLINE && s !== Scope.ADMIN) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: unknown scope ${s} (hotline, admin)`);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(hash)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: the key must be given as its sha256 (64 hex digits), never in clear`);
    return { name, scopes: list as ScopeValue[], sha256: Buffer.from(hash, 'hex') };
  });
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares the presented key's hash with every entry in constant time per entry. */
export function authenticate(entries: readonly ApiKeyEntry[], presented: string): Principal | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKeyEntry | undefined;
  for (const e of entries) if (timingSafeEqual(e.sha256, digest)) found = e;
  return found ? { name: found.name, scopes: found.scopes } : undefined;
}
