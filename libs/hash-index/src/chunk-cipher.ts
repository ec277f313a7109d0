import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// Sealed chunk: "HCE1" | u8 key id length | key id (UTF-8) | 12-byte IV | ciphertext | 16-byte GCM tag.
// The key id travels in clear so any instance can pick the right key during a rotation; the
// associated data (for example "list/release/seq") binds a chunk to its place, so chunks cannot
// be swapped between releases unnoticed.

const MAGIC = Buffer.from('HCE1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MIN_SECRET_BYTES = 32;

export class ChunkCipherError extends Error {
  readonly code: 'HC_CHUNK_UNKNOWN_KEY' | 'HC_CHUNK_AUTH_FAILED' | 'HC_CHUNK_CORRUPT' | 'HC_CHUNK_BAD_SECRET';
  constructor(code: ChunkCipherError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChunkCipherError';
    this.code = code;
  }
}

export interface ChunkCipherOptions {
  /** Server secrets by key id. Each at least 32 bytes. */
  secrets: Readonly<Record<string, string | Uint8Array>>;
  /** Key id used for sealing; must be one of `secrets`. */
  currentKeyId: string;
}

/** Derives the AES-256 chunk key from a server secret; the key id is part of the derivation. */
function deriveKey(secret: string | Uint8Array, keyId: string): Buffer {
  const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (ikm.length < MIN_SECRET_BYTES) throw new ChunkCipherError('HC_CHUNK_BAD_SECRET', `secret for key ${keyId} is shorter than ${MIN_SECRET_BYTES} bytes`);
  return Buffer.from(hkdfSync('sha256', ikm, 'hashcheck/hash-chunks/v1', keyId, 32));
}

/**
 * AES-256-GCM for hash chunks at rest, with a keyring: seals with the current key, opens with any
 * known key, so rotating the secret is: add the new key, make it current, reseal old chunks in the
 * background, then drop the old key.
 */
export class ChunkCipher {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(opts: ChunkCipherOptions) {
    for (const [id, secret] of Object.entries(opts.secrets)) {
      if (id.length === 0 || Buffer.byteLength(id) > 255) throw new ChunkCipherError('HC_CHUNK_BAD_SECRET', 'key ids must be 1..255 bytes');
      this.keys.set(id, deriveKey(secret, id));
    }
    if (!this.keys.has(opts.currentKeyId)) throw new ChunkCipherError('HC_CHUNK_UNKNOWN_KEY', `current key id ${opts.currentKeyId} has no secret`);
    this.currentKeyId = opts.currentKeyId;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Encrypts and authenticates `plain`, bound to `context`. */
  seal(plain: Uint8Array, context: string): Buffer {
    const key = this.keys.get(this.currentKeyId) as Buffer;
    const id = Buffer.from(this.currentKeyId, 'utf8');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = cipher.update(plain);
    const fin = cipher.final();
    return Buffer.concat([MAGIC, Buffer.of(id.length), id, iv, body, fin, cipher.getAuthTag()]);
  }

  /** The key id a sealed chunk was encrypted with. */
  keyIdOf(sealed: Uint8Array): string {
    return this.header(sealed).keyId;
  }

  private header(sealed: Uint8Array): { keyId: string; ivStart: number } {
    if (sealed.length < MAGIC.length + 1 || Buffer.compare(Buffer.from(sealed.subarray(0, 4)), MAGIC) !== 0) {
      throw new ChunkCipherError('HC_CHUNK_CORRUPT', 'not a sealed hash chunk');
    }
    const idLen = sealed[4] as number;
    const ivStart = 5 + idLen;
    if (sealed.length < ivStart + IV_BYTES + TAG_BYTES) throw new ChunkCipherError('HC_CHUNK_CORRUPT', 'sealed chunk truncated');
    return { keyId: Buffer.from(sealed.subarray(5, ivStart)).toString('utf8'), ivStart };
  }

  /** Decrypts and verifies a sealed chunk; throws when the key is unknown or anything was altered. */
  open(sealed: Uint8Array, context: string): Buffer {
    const { keyId, ivStart } = this.header(sealed);
    const key = this.keys.get(keyId);
    if (key === undefined) throw new ChunkCipherError('HC_CHUNK_UNKNOWN_KEY', `no secret for key id ${keyId}`);
    const iv = sealed.subarray(ivStart, ivStart + IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(ivStart + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (cause) {
      throw new ChunkCipherError('HC_CHUNK_AUTH_FAILED', `sealed chunk failed authentication (key ${keyId}): wrong context or altered bytes`, { cause });
    }
  }

  /** True when the chunk is sealed with an older key and should be resealed. */
  needsReseal(sealed: Uint8Array): boolean {
    return this.keyIdOf(sealed) !== this.currentKeyId;
  }

  /** Opens with whatever key sealed it and seals again with the current key. */
  reseal(sealed: Uint8Array, context: string): Buffer {
    return this.seal(this.open(sealed, context), context);
  }
}
