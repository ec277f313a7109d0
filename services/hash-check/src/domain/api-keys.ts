import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
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

// Keys look like hck_<16 hex key id>_<43 base64url chars>: the id finds the stored record without
// a scan; only the SHA-256 of the whole key is stored (keys are 256-bit random, so a fast hash is
// enough: there is nothing to brute-force).
const KEY_FORMAT = /^hck_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

export function generateApiKey(): { keyId: string; key: string; sha256: string } {
  const keyId = randomBytes(8).toString('hex');
  const key = `hck_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, key, sha256: sha256Hex(key) };
}

export function keyIdOf(key: string): string | undefined {
  return KEY_FORMAT.exec(key)?.[1];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function sameHash(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

export interface BootstrapKey {
  name: string;
  scopes: Scope[];
  sha256: string;
}

const NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

/**
 * HASH_CHECK_BOOTSTRAP_KEYS: `name:scope[+scope]:sha256hex` entries, comma-separated. Only hashes
 * live in configuration. Such a key authenticates as tenant `name` (it need not exist in the database).
 */
export function parseBootstrapKeys(text: string): BootstrapKey[] {
  if (text.trim() === '') return [];
  const seen = new Set<string>();
  return text.split(',').map((raw, i) => {
    const [name, scopes, hash, ...rest] = raw.trim().split(':');
    const where = `HASH_CHECK_BOOTSTRAP_KEYS entry ${i + 1}`;
    if (!name || !scopes || !hash || rest.length > 0) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where} must be name:scope[+scope]:sha256hex`);
    if (!NAME.test(name) || name.length > 64) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name must be a lower-case slug`);
    if (seen.has(name)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name ${name} appears twice`);
    seen.add(name);
    const list = scopes.split('+');
    for (const s of list) if (!(SCOPES as readonly string[]).includes(s)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: unknown scope ${s} (${SCOPES.join(', ')})`);
    if (!/^[0-9a-fA-F]{64}$/.test(hash)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: give the key as its sha256 (64 hex digits), never in clear`);
    return { name, scopes: list as Scope[], sha256: hash.toLowerCase() };
  });
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
