import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signature, in the style providers know from Stripe and GitHub:
 *
 *   HashCheck-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>
 *
 * The timestamp is inside the MAC so a captured request cannot be replayed later than the
 * receiver's tolerance; the raw body bytes are signed, so receivers must verify before parsing.
 */
export const SIGNATURE_HEADER = 'HashCheck-Signature';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const NOTICE_ID_HEADER = 'HashCheck-Notice-Id';
export const SIGNATURE_SCHEME = 'v1';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function computeSignature(secret: string | Uint8Array, timestampSeconds: number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}

export function signatureHeader(secret: string | Uint8Array, body: string | Uint8Array, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},${SIGNATURE_SCHEME}=${computeSignature(secret, t, body)}`;
}

export interface ParsedSignature {
  timestamp: number;
  signatures: string[];
}

export function parseSignatureHeader(header: string): ParsedSignature | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === SIGNATURE_SCHEME && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'too-old' | 'in-future' | 'mismatch' };

/**
 * What a receiver does (the docs show the same in a few lines): parse, check the timestamp is
 * recent, recompute the MAC over the raw body and compare in constant time. Several `v1=` values
 * are accepted so a secret can be rotated without a gap.
 */
export function verifySignature(
  header: string | undefined,
  body: string | Uint8Array,
  secrets: string | Uint8Array | ReadonlyArray<string | Uint8Array>,
  options: { now?: Date; toleranceSeconds?: number } = {},
): VerifyResult {
  const parsed = header ? parseSignatureHeader(header) : undefined;
  if (!parsed) return { ok: false, reason: 'malformed' };
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (parsed.timestamp < nowSeconds - tolerance) return { ok: false, reason: 'too-old' };
  if (parsed.timestamp > nowSeconds + tolerance) return { ok: false, reason: 'in-future' };
  const keys = typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : secrets;
  for (const key of keys) {
    const expected = Buffer.from(computeSignature(key, parsed.timestamp, body), 'hex');
    for (const candidate of parsed.signatures) {
      if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) return { ok: true, timestamp: parsed.timestamp };
    }
  }
  return { ok: false, reason: 'mismatch' };
}
