import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '@hashcheck/mongo';

test('items submitted in one turn share a flush; items submitted during a flush go in the next', async () => {
  const flushes: number[][] = [];
  let release: () => void = () => undefined;
  const coalescer = new Coalescer<number>(async (batch) => {
    flushes.push(batch.map((w) => w.item));
    if (flushes.length === 1) await new Promise<void>((r) => { release = r; });
    for (const w of batch) w.resolve();
  });
  const first = [1, 2, 3].map((n) => coalescer.submit(n));
  await new Promise((r) => setImmediate(r));
  const later = [4, 5].map((n) => coalescer.submit(n));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(flushes, [[1, 2, 3]], 'the second batch waits for the first flush');
  release();
  await Promise.all([...first, ...later]);
  assert.deepEqual(flushes, [[1, 2, 3], [4, 5]]);
});

test('batches are at most maxBatch items', async () => {
  const sizes: number[] = [];
  const coalescer = new Coalescer<number>(async (batch) => {
    sizes.push(batch.length);
    for (const w of batch) w.resolve();
  }, 4);
  await Promise.all(Array.from({ length: 10 }, (_, n) => coalescer.submit(n)));
  assert.deepEqual(sizes, [4, 4, 2]);
});

test('each caller gets the outcome flush gave it; callers left unsettled by a throw get the error', async () => {
  const coalescer = new Coalescer<number>(async (batch) => {
    for (const w of batch) if (w.item % 2 === 0) w.resolve();
    if (batch.some((w) => w.item === 3)) throw new Error('request failed');
    for (const w of batch) if (w.item % 2 === 1) w.reject(new Error(`odd ${w.item}`));
  });
  const results = await Promise.allSettled([1, 2, 3, 4].map((n) => coalescer.submit(n)));
  assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).message)), ['request failed', 'ok', 'request failed', 'ok']);
  // The coalescer keeps working after a failed flush.
  const after = await Promise.allSettled([5].map((n) => coalescer.submit(n)));
  assert.equal(after[0]!.status, 'rejected');
  assert.equal(((after[0] as PromiseRejectedResult).reason as Error).message, 'odd 5');
});
