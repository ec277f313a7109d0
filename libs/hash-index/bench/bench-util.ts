// Shared helpers for the hash-index benchmarks (not a benchmark itself: no .bench.ts suffix).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

/** A forced full GC: the harness passes --expose-gc; standalone runs enable it here. */
export const gc: () => void = (() => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * Bytes held by the JS heap plus array buffers, after a full GC. V8 frees the backing stores of
 * dead array buffers on a background sweeper, so the count settles a moment after the GC: wait.
 */
export async function heapBytes(): Promise<number> {
  gc();
  await new Promise((r) => setTimeout(r, 300));
  gc();
  await new Promise((r) => setTimeout(r, 300));
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** xorshift32: deterministic data, so baseline and index see the same hashes. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const hexBuf = Buffer.alloc(64);
/** Lowercase hex of big-endian words (Buffer's native hex encoder: cheap enough for millions). */
export function hexOfWords(words: Uint32Array): string {
  const n = words.length;
  for (let i = 0; i < n; i++) hexBuf.writeUInt32BE(words[i] as number, i * 4);
  return hexBuf.toString('hex', 0, n * 4);
}

/** Prints progress with elapsed seconds (stdout; the harness only parses the last line). */
const started = performance.now();
export function log(msg: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);
}

/**
 * Runs `fn` (which performs `ops` operations) `warmup` times unmeasured, then `rounds` times; returns the median rate in ops per
 * wall-clock second and per CPU second of this process (the per-core figure on a shared machine).
 */
export function rate(ops: number, rounds: number, fn: () => void, warmup = 1): { wall: number; cpu: number } {
  // Unmeasured rounds first: the optimising compiler has settled when the timing starts.
  for (let w = 0; w < warmup; w++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    wall.push((ops / ms) * 1000);
    cpu.push(ops / ((c.user + c.system) / 1e6));
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
  return { wall: med(wall), cpu: med(cpu) };
}

export function round(v: number, digits = 3): number {
  return Number(v.toPrecision(digits));
}

export function printResults(results: BenchResult[]): void {
  console.log(JSON.stringify({ results }));
}
