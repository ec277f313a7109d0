import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys: `hck_<keyId>_<secret>`. Only the SHA-256 of the secret is stored; the key is shown
 * once, when an administrator issues it. A provider key is bound to one provider and can only
 * act on that provider's notices.
 */
export const Scope = { ADMIN: 'admin', PROVIDER: 'provider', HOTLINE: 'hotline', REGULATOR: 'regulator' } as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];
export const SCOPES: readonly ScopeValue[] = Object.values(Scope);

const KEY_ID_HEX = 16;
const KEY_RE = new RegExp(`^hck_([0-9a-f]{${KEY_ID_HEX}})_([A-Za-z0-9_-]{43})$`);

export interface IssuedKey {
  keyId: string;
  key: string;
  secretHash: string;
}

export function issueKey(): IssuedKey {
  const keyId = randomBytes(KEY_ID_HEX / 2).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, key: `hck_${keyId}_${secret}`, secretHash: sha256(secret) };
}

export function parseKey(key: string): { keyId: string; secret: string } | undefined {
  const m = KEY_RE.exec(key);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Compares digests in constant time, so response timing says nothing about how close a guess was. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
