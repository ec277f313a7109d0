import { digestsEqual, issueApiKey, sha256Hex } from '@hashcheck/auth';

/**
 * API keys (`hck_<keyId>_<secret>`, see @hashcheck/auth). Only the SHA-256 of the secret is
 * stored; the key is shown once, when an administrator issues it. A provider key is bound to one
 * provider and can only act on that provider's notices.
 */
export const Scope = { ADMIN: 'admin', PROVIDER: 'provider', HOTLINE: 'hotline', REGULATOR: 'regulator' } as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];
export const SCOPES: readonly ScopeValue[] = Object.values(Scope);

export interface IssuedKey {
  keyId: string;
  key: string;
  secretHash: string;
}

export function issueKey(): IssuedKey {
  const { keyId, key, secret } = issueApiKey();
  return { keyId, key, secretHash: sha256Hex(secret) };
}

export function secretMatches(secret: string, storedHash: string): boolean {
  return digestsEqual(sha256Hex(secret), storedHash);
}
