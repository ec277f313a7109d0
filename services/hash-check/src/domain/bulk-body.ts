// The bulk check's request body read straight from its bytes, for the one shape clients send:
// {"items":[{"type":"md5","hash":"<hex>"}, ...]} (either key order, any JSON whitespace). No
// object or string per item is made, and the hashes are parsed from the bytes into packed words
// later. Anything else — escapes, other or repeated keys, non-string values, an unknown type,
// malformed JSON — returns undefined, and the caller parses the body as JSON and takes the general
// path, which then answers exactly as before (same results, same errors).
import { HASH_TYPES } from '@hashcheck/hash-index';

export interface FastCheckBody {
  readonly fast: true;
  readonly buf: Uint8Array;
  readonly count: number;
  /** Per item: index into HASH_TYPES. */
  readonly types: Uint8Array;
  /** Per item: where the hash string's characters start in `buf`, and how many bytes it has. */
  readonly starts: Int32Array;
  readonly lens: Int32Array;
}

export function isFastCheckBody(body: unknown): body is FastCheckBody {
  return typeof body === 'object' && body !== null && (body as { fast?: unknown }).fast === true && (body as { buf?: unknown }).buf instanceof Uint8Array;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ITEMS = Buffer.from('"items"');
const TYPE = Buffer.from('"type"');
const HASH = Buffer.from('"hash"');
const TYPE_NAMES = HASH_TYPES.map((t) => Buffer.from(t));

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Parses the body, or undefined when it is not exactly the common shape (the caller then uses JSON.parse). */
export function parseCheckBody(buf: Uint8Array): FastCheckBody | undefined {
  const n = buf.length;
  let p = 0;
  const ws = (): void => {
    while (p < n && isWs(buf[p] as number)) p++;
  };
  const lit = (bytes: Uint8Array): boolean => {
    if (p + bytes.length > n) return false;
    for (let i = 0; i < bytes.length; i++) if (buf[p + i] !== bytes[i]) return false;
    p += bytes.length;
    return true;
  };
  const ch = (c: number): boolean => {
    if (buf[p] !== c) return false;
    p++;
    return true;
  };
  /** A string without escapes or control characters: returns its start, leaves p after the closing quote; -1 if not. */
  const str = (): number => {
    if (buf[p] !== QUOTE) return -1;
    const start = ++p;
    while (p < n) {
      const c = buf[p] as number;
      if (c === QUOTE) {
        p++;
        return start;
      }
      if (c === BACKSLASH || c < 0x20) return -1;
      p++;
    }
    return -1;
  };

  let cap = 1024;
  let types = new Uint8Array(cap);
  let starts = new Int32Array(cap);
  let lens = new Int32Array(cap);
  let count = 0;

  ws();
  if (!ch(0x7b)) return undefined; // {
  ws();
  if (!lit(ITEMS)) return undefined;
  ws();
  if (!ch(0x3a)) return undefined; // :
  ws();
  if (!ch(0x5b)) return undefined; // [
  ws();
  if (buf[p] !== 0x5d) {
    for (;;) {
      if (!ch(0x7b)) return undefined;
      let type = -1;
      let hashStart = -1;
      let hashLen = 0;
      for (let k = 0; k < 2; k++) {
        ws();
        if (lit(TYPE)) {
          if (type >= 0) return undefined;
          ws();
          if (!ch(0x3a)) return undefined;
          ws();
          const s = str();
          if (s < 0) return undefined;
          const len = p - 1 - s;
          for (let t = 0; t < TYPE_NAMES.length; t++) {
            const name = TYPE_NAMES[t] as Buffer;
            if (name.length !== len) continue;
            let eq = true;
            for (let i = 0; i < len; i++) {
              if (buf[s + i] !== name[i]) {
                eq = false;
                break;
              }
            }
            if (eq) type = t;
          }
          // An unknown type's error message quotes it: the general path words it.
          if (type < 0) return undefined;
        } else if (lit(HASH)) {
          if (hashStart >= 0) return undefined;
          ws();
          if (!ch(0x3a)) return undefined;
          ws();
          const s = str();
          if (s < 0) return undefined;
          hashStart = s;
          hashLen = p - 1 - s;
        } else {
          return undefined;
        }
        ws();
        if (k === 0 && !ch(0x2c)) return undefined; // ,
      }
      if (!ch(0x7d)) return undefined; // }
      if (count === cap) {
        cap *= 2;
        const t2 = new Uint8Array(cap);
        t2.set(types);
        types = t2;
        const s2 = new Int32Array(cap);
        s2.set(starts);
        starts = s2;
        const l2 = new Int32Array(cap);
        l2.set(lens);
        lens = l2;
      }
      types[count] = type;
      starts[count] = hashStart;
      lens[count] = hashLen;
      count++;
      ws();
      if (ch(0x2c)) {
        ws();
        continue;
      }
      break;
    }
  }
  if (!ch(0x5d)) return undefined; // ]
  ws();
  if (!ch(0x7d)) return undefined; // }
  ws();
  if (p !== n) return undefined;
  return { fast: true, buf, count, types, starts, lens };
}
