import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { infra, randomName } from '@hashcheck/testing';
import { ReportStore } from '../src/store/reports';

const md5 = { list: 'police', type: 'md5', hash: 'a'.repeat(32) } as never;

test('intake keeps the newest check of each report, whatever order the verdicts arrive in', async (t) => {
  const env = infra(t);
  if (!env) return;
  const client = new MongoClient(env.mongoUri, { maxPoolSize: 1 });
  await client.connect();
  const db = client.db(randomName('intake_checks').replace(/-/g, '_'));
  t.after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });
  const store = new ReportStore(db);
  const report = (id: string) => ({ _id: id });

  // Many first verdicts at once share inserts; every one is kept.
  await Promise.all(Array.from({ length: 150 }, (_, i) => store.recordCheck(`r${i}`, i % 2 === 0, i % 2 === 0 ? [md5] : [], '2026-01-01T00:00:00.000Z')));
  for (const i of [0, 1, 77, 149]) {
    assert.deepEqual(await store.findCheck(report(`r${i}`)), { matched: i % 2 === 0, matches: i % 2 === 0 ? [md5] : [], checkedAt: '2026-01-01T00:00:00.000Z' });
  }

  // A later check wins; an older one arriving late, or the same one again, changes nothing.
  await store.recordCheck('r0', false, [], '2026-01-02T00:00:00.000Z');
  await store.recordCheck('r0', true, [md5], '2026-01-01T12:00:00.000Z');
  await store.recordCheck('r0', false, [], '2026-01-02T00:00:00.000Z');
  assert.deepEqual(await store.findCheck(report('r0')), { matched: false, matches: [], checkedAt: '2026-01-02T00:00:00.000Z' });

  // A match's victim series is notification's to know: intake neither keeps nor shows it.
  const inSeries = { listId: 'police', listName: 'Police', category: 'A1', hashType: 'md5', distance: 0, seriesId: 'series-17' } as const;
  await store.recordCheck('s1', true, [inSeries], '2026-01-01T00:00:00.000Z');
  await store.recordCheck('s1', true, [inSeries], '2026-01-02T00:00:00.000Z');
  const { seriesId: _seriesId, ...kept } = inSeries;
  assert.deepEqual(await store.findCheck(report('s1')), { matched: true, matches: [kept], checkedAt: '2026-01-02T00:00:00.000Z' });
  assert.equal(await db.collection('checks').countDocuments({ 'matches.seriesId': { $exists: true } }), 0, 'no stored check holds a series');

  // Not checked yet: no verdict.
  assert.equal(await store.findCheck(report('never')), undefined);

  // A report stored with its check embedded (before the checks collection) still shows it, unless a newer one came since.
  const embedded = { matched: true, matches: [md5], checkedAt: '2026-01-03T00:00:00.000Z' };
  assert.deepEqual(await store.findCheck({ _id: 'old', check: embedded }), embedded);
  assert.deepEqual(await store.findCheck({ _id: 'r0', check: embedded }), embedded);
  assert.deepEqual(await store.findCheck({ _id: 'r0', check: { ...embedded, checkedAt: '2025-12-31T00:00:00.000Z' } }), { matched: false, matches: [], checkedAt: '2026-01-02T00:00:00.000Z' });
});
