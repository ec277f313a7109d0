/**
 * The once-only guarantees against the real database, under concurrency: FerretDB 1.24 does not
 * isolate concurrent updates of one document, so these check the insert-arbitrated leases and the
 * sealing protocol directly, with several competitors at once.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import { failingOnce } from '@hashcheck/testing';
import { ManualClock } from '../src/domain/clock';
import { DEFAULT_GROUPING, groupKeyFor, initialItemKey, ItemKind } from '../src/domain/grouping';
import { NoticeSealer } from '../src/notices/sealer';
import { NoticeSender } from '../src/notices/sender';
import type { NotificationSettings } from '../src/settings';
import { Collections, NoticeState, type ItemDocument, type NoticeDocument } from '../src/store/collections';
import { LEASES, Leases } from '../src/store/leases';
import { testDatabase } from './helpers';

const database = (t: TestContext) => testDatabase(t, 'nstore');

function item(i: number, at: Date): ItemDocument {
  const caseId = `case-${i}.1`;
  return {
    _id: initialItemKey(caseId), groupKey: groupKeyFor(ItemKind.INITIAL, 'prov-x'), kind: ItemKind.INITIAL, providerId: 'prov-x',
    reportId: `r-${i}`, caseKey: String(i).padStart(64, '0'), caseId, url: `https://files.example/${i}.jpg`,
    receivedAt: at, dueAt: at, noticeId: null, sourceEventId: `e-${i}`,
  };
}

test('a lease is held by exactly one of many competitors, and taken over only after it expires', async (t) => {
  const db = await database(t);
  if (!db) return;
  const now = new Date();
  const contenders = Array.from({ length: 8 }, (_, i) => new Leases(db, `w${i}`));
  const first = await Promise.all(contenders.map((l) => l.acquire('notice:n1:0', now, 1000)));
  assert.equal(first.filter(Boolean).length, 1);
  const during = await Promise.all(contenders.map((l) => l.acquire('notice:n1:0', new Date(now.getTime() + 500), 1000)));
  assert.equal(during.filter(Boolean).length, 0, 'nobody takes a live lease');
  const after = await Promise.all(contenders.map((l) => l.acquire('notice:n1:0', new Date(now.getTime() + 1500), 1000)));
  const taker = after.filter(Boolean);
  assert.equal(taker.length, 1, 'exactly one takes over an expired lease');
  await contenders[0]!.release(taker[0]!);
  const again = await Promise.all(contenders.map((l) => l.acquire('notice:n1:0', new Date(now.getTime() + 1600), 1000)));
  assert.equal(again.filter(Boolean).length, 1, 'released: free again, still for one taker only');
});

test('concurrent sealers put every item into exactly one notice', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const items = db.collection<ItemDocument>(Collections.ITEMS);
  await items.insertMany(Array.from({ length: 60 }, (_, i) => item(i, clock.now())));
  const policy = { ...DEFAULT_GROUPING, maxItemsPerNotice: 25, leaseMs: 60_000 };
  const sealers = Array.from({ length: 4 }, (_, i) => new NoticeSealer(db, policy, clock, `w${i}`));
  clock.advance(61_000);
  await Promise.all(sealers.map((s) => s.sealDue()));
  await Promise.all(sealers.map((s) => s.sealDue()));
  const notices = await db.collection<NoticeDocument>(Collections.NOTICES).find({}).toArray();
  const keys = notices.flatMap((n) => n.items.map((i) => i.key));
  assert.equal(keys.length, 60, `every item once (${notices.length} notices)`);
  assert.equal(new Set(keys).size, 60);
  assert.equal(await items.countDocuments({ noticeId: null }), 0);
  for (const n of notices) assert.equal(await items.countDocuments({ noticeId: n._id }), n.items.length);
});

test('a sealer that stopped after writing a notice is finished by the next one, not repeated', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const items = db.collection<ItemDocument>(Collections.ITEMS);
  await items.insertMany(Array.from({ length: 3 }, (_, i) => item(i, clock.now())));
  clock.advance(61_000);
  // What a stopped sealer leaves: the notice written, its items not yet marked.
  const all = await items.find({}).toArray();
  const stopped: NoticeDocument = {
    _id: 'n-stopped', version: 0, groupKey: all[0]!.groupKey, kind: 'initial', providerId: 'prov-x',
    items: all.map((i) => ({ key: i._id, reportId: i.reportId, caseKey: i.caseKey, url: i.url })),
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  };
  await db.collection<NoticeDocument>(Collections.NOTICES).insertOne(stopped);
  const written = await new NoticeSealer(db, { ...DEFAULT_GROUPING, leaseMs: 60_000 }, clock, 'w').sealDue();
  assert.deepEqual(written, [], 'no second notice');
  assert.equal(await items.countDocuments({ noticeId: 'n-stopped' }), 3);
});

test('of several instances claiming the same due notice, one gets it', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const notice: NoticeDocument = {
    _id: 'n-due', version: 0, groupKey: 'provider:p', kind: 'initial', providerId: 'p', items: [],
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  };
  await db.collection<NoticeDocument>(Collections.NOTICES).insertOne(notice);
  const settings = { concurrency: 4, leaseMs: 60_000 } as NotificationSettings;
  const senders = Array.from({ length: 6 }, (_, i) => new NoticeSender({ db, settings, clock, workerId: `w${i}` } as unknown as ConstructorParameters<typeof NoticeSender>[0]));
  const claims = await Promise.all(senders.map((s) => s.claim()));
  assert.equal(claims.filter(Boolean).length, 1);
});

test('a claim that fails halfway (database gone) leaves the notice claimable by the same sender', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const due = (id: string): NoticeDocument => ({
    _id: id, version: 0, groupKey: 'provider:p', kind: 'initial', providerId: 'p', items: [],
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  });
  const settings = { concurrency: 1, leaseMs: 60_000 } as NotificationSettings;
  const sender = (failing: Db) => new NoticeSender({ db: failing, settings, clock, workerId: 'w' } as unknown as ConstructorParameters<typeof NoticeSender>[0]);

  // The lease taken, then reading the notice fails (seen in the database-kill fault test: that
  // notice was never sent by the only instance, which had kept it as "in flight").
  await db.collection<NoticeDocument>(Collections.NOTICES).insertOne(due('n-read-failed'));
  const first = sender(failingOnce(db, Collections.NOTICES, 'findOne'));
  await assert.rejects(first.claim(), /connection to the database was lost/);
  clock.advance(settings.leaseMs + 1);
  assert.equal((await first.claim())?.notice._id, 'n-read-failed', 'once the lease has run out, the same sender claims the notice');

  // Taking the lease fails.
  await db.collection<NoticeDocument>(Collections.NOTICES).deleteOne({ _id: 'n-read-failed' });
  await db.collection<NoticeDocument>(Collections.NOTICES).insertOne(due('n-lease-failed'));
  const second = sender(failingOnce(db, LEASES, 'find'));
  await assert.rejects(second.claim(), /connection to the database was lost/);
  assert.equal((await second.claim())?.notice._id, 'n-lease-failed', 'the same sender claims the notice at once');
});
