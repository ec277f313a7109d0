// In-place sorting of packed keys (`width` 32-bit words per key) together with a parallel ref array.
// Keys are ordered word by word as unsigned integers, which equals lowercase-hex string order.

/** Compares key `a` with key `b` of the same array. */
function cmp(keys: Uint32Array, width: number, a: number, b: number): number {
  const pa = a * width;
  const pb = b * width;
  for (let i = 0; i < width; i++) {
    const x = keys[pa + i] as number;
    const y = keys[pb + i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Compares key `a` with the key held in `probe`. */
function cmpProbe(keys: Uint32Array, width: number, a: number, probe: Uint32Array): number {
  const pa = a * width;
  for (let i = 0; i < width; i++) {
    const x = keys[pa + i] as number;
    const y = probe[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function swap(keys: Uint32Array, refs: Uint32Array, width: number, a: number, b: number): void {
  const pa = a * width;
  const pb = b * width;
  for (let i = 0; i < width; i++) {
    const t = keys[pa + i] as number;
    keys[pa + i] = keys[pb + i] as number;
    keys[pb + i] = t;
  }
  const r = refs[a] as number;
  refs[a] = refs[b] as number;
  refs[b] = r;
}

function insertionSort(keys: Uint32Array, refs: Uint32Array, width: number, lo: number, hi: number, scratch: Uint32Array): void {
  for (let i = lo + 1; i < hi; i++) {
    if (cmp(keys, width, i - 1, i) <= 0) continue;
    for (let k = 0; k < width; k++) scratch[k] = keys[i * width + k] as number;
    const ref = refs[i] as number;
    let j = i - 1;
    while (j >= lo && cmpProbe(keys, width, j, scratch) > 0) {
      keys.copyWithin((j + 1) * width, j * width, (j + 1) * width);
      refs[j + 1] = refs[j] as number;
      j--;
    }
    for (let k = 0; k < width; k++) keys[(j + 1) * width + k] = scratch[k] as number;
    refs[j + 1] = ref;
  }
}

/** Sorts keys[lo, hi) (quicksort, median of three, Hoare partition; insertion sort for short ranges). */
export function sortRange(keys: Uint32Array, refs: Uint32Array, width: number, lo: number, hi: number, scratch = new Uint32Array(width)): void {
  while (hi - lo > 16) {
    const mid = (lo + hi) >>> 1;
    // Order lo <= mid <= hi-1 so the pivot comes from the middle position: Hoare's scheme then terminates.
    if (cmp(keys, width, mid, lo) < 0) swap(keys, refs, width, mid, lo);
    if (cmp(keys, width, hi - 1, lo) < 0) swap(keys, refs, width, hi - 1, lo);
    if (cmp(keys, width, hi - 1, mid) < 0) swap(keys, refs, width, hi - 1, mid);
    for (let k = 0; k < width; k++) scratch[k] = keys[mid * width + k] as number;
    let i = lo - 1;
    let j = hi;
    for (;;) {
      do i++;
      while (cmpProbe(keys, width, i, scratch) < 0);
      do j--;
      while (cmpProbe(keys, width, j, scratch) > 0);
      if (i >= j) break;
      swap(keys, refs, width, i, j);
    }
    // [lo, j] <= pivot <= [j+1, hi): recurse into the smaller half to bound the stack depth.
    if (j + 1 - lo < hi - (j + 1)) {
      sortRange(keys, refs, width, lo, j + 1, scratch);
      lo = j + 1;
    } else {
      sortRange(keys, refs, width, j + 1, hi, scratch);
      hi = j + 1;
    }
  }
  insertionSort(keys, refs, width, lo, hi, scratch);
}

/**
 * Sorts `n` keys in place and returns bucket start offsets for the top `bits` bits of the first word
 * (length 2^bits + 1). In-place American flag sort on the bucket, then a comparison sort per bucket:
 * O(n) for uniformly distributed keys (cryptographic hashes), no second copy of the keys.
 */
export function bucketSort(keys: Uint32Array, refs: Uint32Array, width: number, n: number, bits: number): Uint32Array {
  const buckets = 1 << bits;
  const shift = 32 - bits;
  const starts = new Uint32Array(buckets + 1);
  for (let i = 0; i < n; i++) { const k = ((keys[i * width] as number) >>> shift) + 1; starts[k] = (starts[k] as number) + 1; }
  for (let b = 0; b < buckets; b++) starts[b + 1] = (starts[b + 1] as number) + (starts[b] as number);
  const next = starts.slice(0, buckets);
  for (let b = 0; b < buckets; b++) {
    const end = starts[b + 1] as number;
    let i = next[b] as number;
    while (i < end) {
      const c = (keys[i * width] as number) >>> shift;
      if (c === b) {
        i++;
      } else {
        const dst = next[c] as number;
        next[c] = dst + 1;
        swap(keys, refs, width, i, dst);
      }
    }
    next[b] = end;
  }
  const scratch = new Uint32Array(width);
  for (let b = 0; b < buckets; b++) {
    const lo = starts[b] as number;
    const hi = starts[b + 1] as number;
    if (hi - lo > 1) sortRange(keys, refs, width, lo, hi, scratch);
  }
  return starts;
}
