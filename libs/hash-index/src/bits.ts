/** Population count of a 32-bit integer (SWAR; V8 has no popcount intrinsic). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** A growable bitset over a Uint32Array. */
export class BitSet {
  words: Uint32Array;
  constructor(bits = 0) {
    this.words = new Uint32Array(Math.max(1, (bits + 31) >>> 5));
  }
  get capacity(): number {
    return this.words.length << 5;
  }
  ensure(bits: number): void {
    if (bits <= this.capacity) return;
    let n = this.words.length;
    while (n << 5 < bits) n *= 2;
    const next = new Uint32Array(n);
    next.set(this.words);
    this.words = next;
  }
  has(i: number): boolean {
    return (((this.words[i >>> 5] as number) >>> (i & 31)) & 1) === 1;
  }
  set(i: number): void {
    this.ensure(i + 1);
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31));
  }
  clearAll(): void {
    this.words.fill(0);
  }
}

/** Grows a typed array to at least `min` elements, doubling, copying the existing content. */
export function growU32(a: Uint32Array, min: number): Uint32Array {
  if (a.length >= min) return a;
  let n = Math.max(16, a.length);
  while (n < min) n *= 2;
  const next = new Uint32Array(n);
  next.set(a);
  return next;
}

export function growI32(a: Int32Array, min: number, fill: number): Int32Array {
  if (a.length >= min) return a;
  let n = Math.max(16, a.length);
  while (n < min) n *= 2;
  const next = new Int32Array(n);
  next.set(a);
  if (fill !== 0) next.fill(fill, a.length);
  return next;
}
