import { createHash, randomBytes } from 'node:crypto';

/** A UUID derived from a name: the same fact always gets the same event id (idempotent replays). */
export function deterministicUuid(name: string): string {
  const b = createHash('sha256').update(`hashcheck:${name}`).digest();
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Release ids sort by creation time. */
export function newReleaseId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;
}

export function dayOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}
