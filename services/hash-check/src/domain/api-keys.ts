import { issueApiKey, parseApiKey, parseStaticKeys, sha256Hex } from '@hashcheck/auth';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';

export const SCOPES = ['checker', 'hotline', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: a tenant's API key, or a key from configuration. */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: readonly Scope[];
  /** Requests per minute for this tenant. */
  rateLimitPerMinute?: number | undefined;
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.includes(scope) || p.scopes.includes('admin');
}

// Keys are @hashcheck/auth's `hck_<key id>_<secret>`; only the SHA-256 of the whole key is stored.
export function generateApiKey(): { keyId: string; key: string; sha256: string } {
  const { keyId, key } = issueApiKey();
  return { keyId, key, sha256: sha256Hex(key) };
}

export function keyIdOf(key: string): string | undefined {
  return parseApiKey(key)?.keyId;
}

export interface BootstrapKey {
  name: string;
  scopes: Scope[];
  sha256: string;
}

/**
 * HASH_CHECK_BOOTSTRAP_KEYS: `name:scope[+scope]:sha256hex` entries, comma-separated. Only hashes
 * live in configuration. Such a key authenticates as tenant `name` (it need not exist in the database).
 */
export function parseBootstrapKeys(text: string): BootstrapKey[] {
  return parseStaticKeys(text, { variable: 'HASH_CHECK_BOOTSTRAP_KEYS', scopes: SCOPES }).map((k) => ({ name: k.name, scopes: k.scopes, sha256: k.sha256.toString('hex') }));
}

/** Parses HASH_LIST_SECRET (`keyId:secret[,keyId:secret]`) into the keyring's options. */
export function parseListSecrets(text: string): { secrets: Record<string, string>; currentKeyId: string } {
  const secrets: Record<string, string> = {};
  let currentKeyId: string | undefined;
  text.split(',').forEach((raw, i) => {
    const entry = raw.trim();
    const colon = entry.indexOf(':');
    const where = `HASH_LIST_SECRET entry ${i + 1}`;
    if (colon <= 0) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where} must be keyId:secret`);
    const id = entry.slice(0, colon);
    const secret = entry.slice(colon + 1);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: key id must be 1-64 letters, digits, . _ -`);
    if (secret.length < 32) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: the secret must be at least 32 characters`);
    if (secrets[id] !== undefined) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: key id ${id} appears twice`);
    secrets[id] = secret;
    currentKeyId ??= id;
  });
  if (currentKeyId === undefined) throw new HashCheckError(ErrorCode.CONFIG_INVALID, 'HASH_LIST_SECRET is empty');
  return { secrets, currentKeyId };
}
