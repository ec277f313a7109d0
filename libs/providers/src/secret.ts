import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import type { EncryptedSecretValue } from '@hashcheck/events';

/**
 * Webhook signing secrets leave the registry only encrypted (AES-256-GCM under the shared
 * PROVIDER_SECRET_KEY, with the provider id as associated data so a ciphertext cannot be moved to
 * another provider). Intake encrypts, notification decrypts; nothing else can read them.
 */
export interface SecretKey {
  keyId: string;
  key: Buffer;
}

/**
 * Parses `PROVIDER_SECRET_KEY`: 32 bytes as 64 hex digits or base64/base64url, optionally prefixed
 * with `<keyId>:` (default key id `k1`). Several keys (rotation) are comma-separated; the first encrypts.
 */
export function parseSecretKeys(text: string): SecretKey[] {
  const keys = text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const colon = part.indexOf(':');
    const keyId = colon > 0 ? part.slice(0, colon) : 'k1';
    const material = colon > 0 ? part.slice(colon + 1) : part;
    const key = /^[0-9a-fA-F]{64}$/.test(material) ? Buffer.from(material, 'hex') : Buffer.from(material, 'base64url');
    if (key.length !== 32) {
      throw new HashCheckError(ErrorCode.CONFIG_INVALID, `PROVIDER_SECRET_KEY ${keyId} must be 32 bytes (64 hex digits or base64), got ${key.length}`);
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(keyId)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, 'PROVIDER_SECRET_KEY key id must be letters, digits, _ or -');
    return { keyId, key };
  });
  if (keys.length === 0) throw new HashCheckError(ErrorCode.CONFIG_INVALID, 'PROVIDER_SECRET_KEY holds no key');
  return keys;
}

export function encryptSecret(secret: string, key: SecretKey, providerId: string): EncryptedSecretValue {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(`hashcheck-provider:${providerId}`));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return { alg: 'aes-256-gcm', keyId: key.keyId, iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url'), ciphertext: ciphertext.toString('base64url') };
}

export function decryptSecret(enc: EncryptedSecretValue, keys: readonly SecretKey[], providerId: string): string {
  const key = keys.find((k) => k.keyId === enc.keyId);
  if (!key) throw new HashCheckError('HC_SECRET_KEY_UNKNOWN', `no PROVIDER_SECRET_KEY with id ${enc.keyId}`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(enc.iv, 'base64url'));
    decipher.setAAD(Buffer.from(`hashcheck-provider:${providerId}`));
    decipher.setAuthTag(Buffer.from(enc.tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(enc.ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new HashCheckError('HC_SECRET_UNREADABLE', `webhook secret of provider ${providerId} does not decrypt with key ${enc.keyId}`, { cause: err });
  }
}
