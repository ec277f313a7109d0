/**
 * Marked outbox (PendingMarks): the writer marks an entry pending, then writes the document that
 * records it; the relay publishes and deletes the mark, never rewriting the document. Each crash
 * window is played by leaving out what a crash would leave out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { OUTBOX_PENDING, outboxEntry, OutboxRelay, PendingMarks, type OutboxEntry, type PendingMark } from '@hashcheck/mongo';
import { waitFor } from '@hashcheck/testing';
import { outboxFixture } from './outbox-fixture';

const logger = { error: () => undefined, debug: () => undefined, warn: () => undefined };

interface Thing {
  _id: string;
  events?: OutboxEntry[];
}

test('marked entries: published from the hint, the mark deleted and the document left as written; a duplicate write takes its mark back', async (t) => {
  const f = await outboxFixture(t, 'marks-hint');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  // The relay's own connection, watched: publishing must not touch the documents.
  const client = new MongoClient(process.env.MONGODB_URI!, { maxPoolSize: 1, monitorCommands: true, retryWrites: false });
  await client.connect();
  t.after(() => client.close());
  const seen: CommandStartedEvent[] = [];
  client.on('commandStarted', (e) => seen.push(e));
  const db = client.db(mongo.db.databaseName);

  const marks = new PendingMarks(mongo.db);
  const coll = mongo.db.collection<Thing>('things');
  const relay = new OutboxRelay({ db, collections: ['things'], marked: ['things'], producer, logger, intervalMs: 600_000 });

  const written: Thing[] = [];
  for (let n = 0; n < 120; n++) {
    const events: OutboxEntry[] = [outboxEntry(topic, f.event(n, `s${n}`))];
    assert.deepEqual(await marks.mark('things', `d${n}`, events), [events[0]!.id], 'the writer owns its mark');
    await coll.insertOne({ _id: `d${n}`, events });
    relay.notify({ collection: 'things', id: `d${n}`, entries: events });
    written.push({ _id: `d${n}`, events });
  }
  assert.equal(await marks.countPending(written[0]!.events), 1, 'pending until the relay runs');
  assert.equal(await relay.drain(), 120);
  await waitFor(() => recorder.on(topic).length >= 120 || undefined, { what: '120 events', timeoutMs: 30_000 });
  assert.equal(await mongo.db.collection(OUTBOX_PENDING).countDocuments({}), 0, 'every mark deleted');
  assert.equal(await marks.countPending(written[0]!.events), 0);
  const docs = await coll.find().sort({ _id: 1 }).toArray();
  assert.equal(docs.filter((d) => d.events?.length === 1).length, 120, 'each document keeps the event it recorded');
  const writes = seen.filter((e) => ['update', 'findAndModify'].includes(e.commandName) && (e.command as Record<string, unknown>)[e.commandName] === 'things');
  assert.equal(writes.length, 0, 'no document was rewritten to publish its entry');
  assert.ok(seen.some((e) => e.commandName === 'delete' && (e.command as Record<string, unknown>).delete === OUTBOX_PENDING), 'the marks were deleted');

  // The same write again (a redelivery): the first mark is gone, so this writer owns a new one; the
  // document is there already, so it takes the mark back and nothing is published again.
  const again = written[5]!.events!;
  const owned = await marks.mark('things', 'd5', again);
  assert.deepEqual(owned, [again[0]!.id]);
  await assert.rejects(coll.insertOne({ _id: 'd5', events: again }), (err: { code?: number }) => err.code === 11000);
  await marks.unmark(owned);
  // A write while the first attempt is still pending: the mark is that attempt's, not this writer's.
  const pending = [outboxEntry(topic, f.event(500, 's500'))];
  assert.deepEqual(await marks.mark('things', 'd500', pending), [pending[0]!.id]);
  assert.deepEqual(await marks.mark('things', 'd500', pending), [], 'a mark that is there already is not owned by the second writer');
  await coll.insertOne({ _id: 'd500', events: pending });

  assert.equal(await relay.drain(), 1, 'only the pending one goes out');
  await waitFor(() => recorder.on(topic).length >= 121 || undefined, { what: '121 events', timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(f.published().sort((a, b) => a - b), [...Array.from({ length: 120 }, (_, n) => n), 500], 'each event exactly once');
});

test('crash windows: after the document the start-up sweep publishes; before it nothing is published and the mark goes once it is old', async (t) => {
  const f = await outboxFixture(t, 'marks-crash');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const marks = new PendingMarks(mongo.db);
  const coll = mongo.db.collection<Thing>('things');

  // Crashed after writing the document: mark + document, no hint.
  const stored = [outboxEntry(topic, f.event(1))];
  await marks.mark('things', 'stored', stored);
  await coll.insertOne({ _id: 'stored', events: stored });
  // Crashed between the mark and the document, twice: one mark is old, one is young.
  const never = [outboxEntry(topic, f.event(2))];
  await marks.mark('things', 'never', never);
  const neverOld = [outboxEntry(topic, f.event(3))];
  await mongo.db.collection<PendingMark>(OUTBOX_PENDING).insertOne({ _id: neverOld[0]!.id, collection: 'things', doc: 'never-old', createdAt: new Date(Date.now() - 120_000) });
  // A document whose mark is still there but whose entry is not the marked one (another write's
  // mark for the same document that never happened): not published either.
  const other = [outboxEntry(topic, f.event(4))];
  await coll.insertOne({ _id: 'other', events: other });
  await mongo.db.collection<PendingMark>(OUTBOX_PENDING).insertOne({ _id: 'not-in-the-document', collection: 'things', doc: 'other', createdAt: new Date() });

  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], marked: ['things'], producer, logger, intervalMs: 600_000, orphanAfterMs: 60_000 });
  relay.start();
  t.after(() => relay.stop());
  await relay.swept;
  await waitFor(() => recorder.on(topic).length >= 1 || undefined, { what: 'the stored entry', timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(f.published(), [1], 'only the entry whose document was written went out');
  const left = (await mongo.db.collection<PendingMark>(OUTBOX_PENDING).find().toArray()).map((m) => m._id).sort();
  assert.deepEqual(left, [never[0]!.id, 'not-in-the-document'].sort(), 'young marks without their entry stay; the old one and the published one are gone');

  // The write that crashed between its mark and its document is retried (a redelivery) and succeeds.
  assert.deepEqual(await marks.mark('things', 'never', never), [], 'the earlier attempt\'s mark covers it');
  await coll.insertOne({ _id: 'never', events: never });
  relay.notify({ collection: 'things', id: 'never' });
  await waitFor(() => recorder.on(topic).length >= 2 || undefined, { what: 'the retried entry', timeoutMs: 15_000 });
  await waitFor(async () => (await marks.countPending(never)) === 0 || undefined, { what: 'its mark deleted', timeoutMs: 15_000 });
  assert.deepEqual(f.published().sort(), [1, 2]);
});

test('marked and embedded side by side: a marked collection\'s embedded outbox (written before marks) is still swept', async (t) => {
  const f = await outboxFixture(t, 'marks-legacy');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const coll = mongo.db.collection<Thing & { outbox?: OutboxEntry[] }>('things');
  await coll.insertOne({ _id: 'legacy', outbox: [outboxEntry(topic, f.event(7))] });
  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], marked: ['things'], producer, logger, intervalMs: 600_000 });
  assert.equal(await relay.drain(), 1);
  await waitFor(() => recorder.on(topic).length >= 1 || undefined, { what: 'the legacy entry', timeoutMs: 15_000 });
  assert.deepEqual((await coll.findOne({ _id: 'legacy' }))?.outbox, [], 'removed from the embedded outbox as before');
  assert.equal(await relay.drain(), 0);
});

test('periodic sweeps read the marks every time and a marked collection\'s embedded outbox only every embeddedSweepMs', async (t) => {
  const f = await outboxFixture(t, 'marks-periodic');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const coll = mongo.db.collection<Thing & { outbox?: OutboxEntry[] }>('things');
  const relay = new OutboxRelay({ db: mongo.db, collections: ['things'], marked: ['things'], producer, logger, intervalMs: 100, maxSweepMs: 200, embeddedSweepMs: 4_000 });
  // The start-up sweep reads the embedded outbox and sets the next such read 4 s after it began,
  // so not before startedAt + 4 s however slow the machine.
  const startedAt = Date.now();
  relay.start();
  t.after(() => relay.stop());
  await relay.swept;
  const old = new Date(Date.now() - 60_000);

  // Both left by crashed writers a minute ago, no hint: one the old way (embedded), one marked.
  const legacy = { ...outboxEntry(topic, f.event(1)), createdAt: old };
  await coll.insertOne({ _id: 'legacy', outbox: [legacy] });
  const marked = outboxEntry(topic, f.event(2));
  await mongo.db.collection<PendingMark>(OUTBOX_PENDING).insertOne({ _id: marked.id, collection: 'things', doc: 'marked', createdAt: old });
  await coll.insertOne({ _id: 'marked', events: [marked] });

  await waitFor(() => recorder.on(topic).length >= 1 || undefined, { what: 'the marked leftover', timeoutMs: 3_000 });
  assert.deepEqual(f.published(), [2], 'the marks are swept at once');
  await new Promise((r) => setTimeout(r, Math.max(0, startedAt + 3_000 - Date.now())));
  assert.deepEqual(f.published(), [2], 'the embedded outbox is left for its own, slower sweep');
  await waitFor(() => recorder.on(topic).length >= 2 || undefined, { what: 'the embedded leftover', timeoutMs: 10_000 });
  assert.ok(Date.now() - startedAt >= 4_000, 'swept once embeddedSweepMs had passed');
  assert.deepEqual(f.published().sort(), [1, 2]);
});
