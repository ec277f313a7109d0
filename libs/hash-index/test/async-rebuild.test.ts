import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { HashIndex, HashIndexError, InlineBuilder, WorkerBuilder } from '@hashcheck/hash-index';
import type { BaseBuilder, HashType } from '@hashcheck/hash-index';

const hex = (type: HashType): string => randomBytes(type === 'md5' ? 16 : type === 'sha1' ? 20 : 32).toString('hex');

/** An index with base entries, delta entries, retractions and a removed list, plus what must match. */
function scenario(): { index: HashIndex; present: [HashType, string][]; absent: [HashType, string][] } {
  const index = new HashIndex();
  index.defineList({ id: 'a', threshold: 10 });
  index.defineList({ id: 'gone' });
  const present: [HashType, string][] = [];
  const absent: [HashType, string][] = [];
  const loader = index.bulkLoader();
  for (const type of ['md5', 'sha1', 'sha256', 'pdq'] as const) {
    for (let i = 0; i < 300; i++) {
      const h = hex(type);
      loader.add(type, h, i % 10 === 0 ? 'gone' : 'a');
      (i % 10 === 0 ? absent : present).push([type, h]);
    }
  }
  loader.commit();
  for (const type of ['md5', 'sha1', 'sha256', 'pdq'] as const) {
    for (let i = 0; i < 50; i++) {
      const h = hex(type);
      index.add(type, h, 'a');
      present.push([type, h]);
    }
    // Retract a few base and delta entries.
    for (let k = 0; k < 5; k++) {
      const at = present.findIndex(([t]) => t === type);
      const [, h] = present.splice(at, 1)[0] as [HashType, string];
      assert.equal(index.retract(type, h, 'a'), 1);
      absent.push([type, h]);
    }
    absent.push([type, hex(type)]);
  }
  index.removeList('gone');
  return { index, present, absent };
}

function assertAnswers(index: HashIndex, present: [HashType, string][], absent: [HashType, string][]): void {
  for (const [t, h] of present) assert.equal(index.matches(t, h), true, `${t} ${h} should match`);
  for (const [t, h] of absent) assert.equal(index.matches(t, h), false, `${t} ${h} should not match`);
}

for (const [name, make] of [
  ['worker thread', (): BaseBuilder => new WorkerBuilder({ onFallback: (err) => assert.fail(`worker fell back: ${err.message}`) })],
  ['inline', (): BaseBuilder => new InlineBuilder()],
] as const) {
  test(`compactAsync (${name}) gives the same answers as before, purges removed lists and empties the deltas`, async () => {
    const builder = make();
    try {
      const { index, present, absent } = scenario();
      assertAnswers(index, present, absent);
      const p = index.compactAsync(builder, true);
      assert.equal(index.isRebuilding, true);
      // Checks are answered while the base is rebuilt; entry changes are refused.
      assertAnswers(index, present, absent);
      assert.throws(() => index.add('md5', hex('md5'), 'a'), (err: unknown) => err instanceof HashIndexError && err.code === 'HC_INDEX_BUSY');
      assert.throws(() => index.compact(), (err: unknown) => err instanceof HashIndexError && err.code === 'HC_INDEX_BUSY');
      await p;
      assert.equal(index.isRebuilding, false);
      assertAnswers(index, present, absent);
      const stats = index.stats();
      for (const t of ['md5', 'sha1', 'sha256', 'pdq'] as const) {
        assert.equal(stats.types[t].delta, 0);
        assert.equal(stats.types[t].tombstones, 0);
        assert.equal(stats.types[t].entries, present.filter(([x]) => x === t).length);
      }
      // Changes work again after the swap.
      const h = hex('sha256');
      index.add('sha256', h, 'a');
      assert.equal(index.matches('sha256', h), true);
    } finally {
      await builder.close();
    }
  });

  test(`BulkLoader.commitAsync (${name}) merges with live entries like commit`, async () => {
    const builder = make();
    try {
      const { index, present, absent } = scenario();
      index.defineList({ id: 'b', enabled: false });
      const loader = index.bulkLoader();
      const added: [HashType, string][] = [];
      for (const type of ['md5', 'sha256', 'pdq'] as const) {
        for (let i = 0; i < 200; i++) {
          const h = hex(type);
          loader.add(type, h, 'b');
          added.push([type, h]);
        }
      }
      await loader.commitAsync(builder);
      assertAnswers(index, present, [...absent, ...added]);
      index.setListEnabled('b', true);
      assertAnswers(index, [...present, ...added], absent);
      assert.deepEqual(index.getList('b')?.entries, { md5: 200, sha1: 0, sha256: 200, pdq: 200 });
    } finally {
      await builder.close();
    }
  });
}
