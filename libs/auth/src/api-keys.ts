import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Keys issued by a service look like `hck_<16 hex key id>_<43 base64url chars>`: the id finds the
 * stored record without a scan, the 256-bit secret makes a fast hash enough (there is nothing to
 * brute-force), and the prefix lets secret scanners recognise a leaked key.
 */
const KEY_FORMAT = /^hck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface IssuedApiKey {
  keyId: string;
  /** The whole key, shown once to whoever asked for it and never stored. */
  key: string;
  /** The random part alone. */
  secret: string;
}

export function issueApiKey(): IssuedApiKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, key: `hck_${keyId}_${secret}`, secret };
}

export function parseApiKey(key: string): { keyId: string; secret: string } | undefined {
  const m = KEY_FORMAT.exec(key);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Compares two hex digests in constant time, so response timing says nothing about how close a guess was. */
export function digestsEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}
