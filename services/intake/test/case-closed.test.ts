import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Topics, type EventEnvelope, type ReportsAcceptedData } from '@hashcheck/events';
import { OUTBOX_PENDING, OutboxRelay, type OutboxEntry } from '@hashcheck/mongo';
import { infra, randomName } from '@hashcheck/testing';
import { caseIdOf } from '../src/domain/case-key';
import { deterministicUuid } from '../src/domain/ids';
import { normaliseSubmission } from '../src/domain/submission';
import { Collections, movedAcceptedEventId, ReportStore } from '../src/store/reports';

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';

test('a case closed before a report was received, heard of after it joined: the report moves to a new case and is announced again, once', async (t) => {
  const env = infra(t);
  if (!env) return;
  const client = new MongoClient(env.mongoUri, { maxPoolSize: 1 });
  await client.connect();
  const db = client.db(randomName('intake_closed').replace(/-/g, '_'));
  t.after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });
  const store = new ReportStore(db);
  const published: Array<{ topic: string; event: EventEnvelope }> = [];
  const relay = new OutboxRelay({
    db,
    collections: [Collections.REPORTS],
    marked: [Collections.REPORTS],
    producer: { publishTraced: async (topic: string, items: Array<{ event: EventEnvelope }>) => { for (const { event } of items) published.push({ topic, event }); } } as never,
    logger: { error: () => undefined, debug: () => undefined },
  });
  const accept = async (reportId: string, channel: 'kafka' | 'http', at: Date) => {
    const n = normaliseSubmission({ reportId, source: 'partner-a', url: 'https://files.example/x.jpg', hashes: { md5: MD5 } });
    assert.ok(n.ok);
    const o = await store.accept(n.report, { channel, inputRef: `in:${reportId}`, resolution: { providerId: 'p1', by: 'domain' } as never, now: at });
    assert.equal(o.kind, 'accepted');
    return o.report;
  };
  const closedAt = new Date('2026-11-01T12:00:00.000Z');
  const early = await accept('pa:early', 'kafka', new Date(closedAt.getTime() - 60_000));
  // Received after enforcement closed the case, before intake heard of it: it joins the case.
  const lateKafka = await accept('pa:late-1', 'kafka', new Date(closedAt.getTime() + 1_000));
  const lateHttp = await accept('h:late-2', 'http', new Date(closedAt.getTime() + 2_000));
  const caseId = early.caseId;
  assert.equal(lateKafka.caseId, caseId);
  assert.equal(lateHttp.caseId, caseId);
  const caseKey = early.caseKey;
  const newCaseId = caseIdOf(caseKey, 2);
  await relay.drain();
  published.length = 0;

  const close = { caseId, providerId: 'p1', outcome: 'removed' as const, closedAt: closedAt.toISOString(), withinDeadline: true, timeToRemovalSeconds: 600 };
  const hints = await store.recordCaseClosed(close, new Date().toISOString());

  // The early report stays in the closed case and is closed; the late ones are in the next generation, not closed.
  const e = await store.find('pa:early');
  assert.equal(e?.caseId, caseId);
  assert.equal(e?.closed?.outcome, 'removed');
  assert.equal(e?.closed?.closedAt, closedAt.toISOString());
  for (const id of ['pa:late-1', 'h:late-2']) {
    const r = await store.find(id);
    assert.equal(r?.caseId, newCaseId, `${id} moved to the new case`);
    assert.equal(r?.closed, undefined, `${id} is not closed`);
    assert.deepEqual(r?.moves?.map((m) => [m.fromCaseId, m.toCaseId, m.closedAt, m.eventId]), [[caseId, newCaseId, closedAt.toISOString(), movedAcceptedEventId(id, newCaseId)]]);
    // Its re-announcement is stored and marked pending until the relay has published it.
    assert.equal((await store.findWithPending(id))?.pendingEvents, 1, `${id}: the re-announcement is pending`);
  }
  assert.deepEqual(hints.map((h) => h.id).sort(), ['h:late-2', 'pa:late-1'], 'one hint per moved report');
  const kase = await store.cases.findOne({ _id: caseKey });
  assert.equal(kase?.caseId, newCaseId);
  assert.equal(kase?.open, true);
  const marks = await db.collection(OUTBOX_PENDING).find({}).toArray();
  assert.deepEqual(marks.map((m) => m._id).sort(), [movedAcceptedEventId('h:late-2', newCaseId), movedAcceptedEventId('pa:late-1', newCaseId)].sort());

  // The relay (here: its sweep, as after a crash right after the move) publishes each once, with the new case id.
  assert.equal(await relay.drain(), 2);
  assert.equal(published.length, 2);
  for (const { topic, event } of published) {
    const data = event.data as ReportsAcceptedData;
    assert.equal(topic, Topics.reportsAccepted);
    assert.equal(event.type, 'reports.accepted');
    assert.equal(data.caseId, newCaseId);
    assert.equal(data.caseKey, caseKey);
    assert.equal(event.id, movedAcceptedEventId(data.reportId, newCaseId));
    assert.notEqual(event.id, deterministicUuid(`reports.accepted:${data.reportId}`), 'not the first announcement\'s id');
    assert.equal(data.providerId, 'p1');
    assert.equal(data.receivedAt, (data.reportId === 'pa:late-1' ? lateKafka : lateHttp).receivedAt.toISOString());
  }
  assert.equal((await store.findWithPending('pa:late-1'))?.pendingEvents, 0);
  assert.equal((await store.findWithPending('h:late-2'))?.pendingEvents, 0);

  // A redelivery, or a replay from offset 0: nothing moves, nothing is marked or published again.
  const snapshot = async () => Promise.all(['pa:early', 'pa:late-1', 'h:late-2'].map((id) => store.reports.findOne({ _id: id })));
  const before = await snapshot();
  assert.deepEqual(await store.recordCaseClosed(close, new Date().toISOString()), []);
  assert.deepEqual(await snapshot(), before);
  assert.equal(await db.collection(OUTBOX_PENDING).countDocuments({}), 0);
  assert.equal(await relay.drain(), 0);
  assert.equal(published.length, 2);
  assert.equal(((await store.reports.findOne({ _id: 'pa:late-1' }))?.events as OutboxEntry[]).length, 2, 'the first announcement and the re-announcement');

  // The moved reports' case is the open one: the next report joins it.
  const next = await accept('pa:next', 'kafka', new Date());
  assert.equal(next.caseId, newCaseId);

  // A close with no late report: as before, every report of it is closed and the next report opens a new generation.
  const close2 = { caseId: newCaseId, providerId: 'p1', outcome: 'removed' as const, closedAt: new Date(Date.now() + 60_000).toISOString() };
  assert.deepEqual(await store.recordCaseClosed(close2, new Date().toISOString()), []);
  for (const id of ['pa:late-1', 'h:late-2', 'pa:next']) assert.equal((await store.find(id))?.closed?.closedAt, close2.closedAt);
  assert.equal((await store.cases.findOne({ _id: caseKey }))?.open, false);
  assert.equal((await accept('pa:after', 'http', new Date())).caseId, caseIdOf(caseKey, 3));
});
