import { createHash } from 'node:crypto';

/**
 * A UUID derived from a name (RFC 9562 version 8 layout over SHA-256), so the same fact always
 * gets the same event id and a replay or a retried write publishes nothing new.
 */
export function deterministicUuid(name: string): string {
  const b = createHash('sha256').update(name).digest();
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
