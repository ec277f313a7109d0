import { createHash } from 'node:crypto';

/** Namespace for every name-based id this service derives (notices, event ids, digests). */
export const NOTIFICATION_NAMESPACE = '6f1c1a52-3c1e-5a7e-9b4d-2f0f3e8a9c61';

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

/**
 * RFC 9562 version-5 UUID: the same name always yields the same id, so a redelivered or replayed
 * event produces the same notice and the same outgoing event ids instead of new ones.
 */
export function uuidv5(name: string, namespace: string = NOTIFICATION_NAMESPACE): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
