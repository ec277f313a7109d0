/**
 * Every case record written with events hints the outbox relay (`notify({ collection, id,
 * entries })`) instead of asking for a sweep: on FerretDB a sweep reads and decodes every record of
 * `case_log`, which only grows. The relay's periodic sweep is set 10 minutes away, so an event that
 * goes out came through a hint; a pending entry nobody hinted (the "leftover") shows that no sweep
 * ran. A notify() without a hint makes the relay sweep everything, and that sweep would take the
 * leftover in the same pass (and the same update) as the record's own entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CasesClosed, createEvent, Topics, type CasesClosedData } from '@hashcheck/events';
import { outboxEntry } from '@hashcheck/mongo';
import { waitFor, infra } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { CASE_LOG, type CaseRecord } from '../src/store/cases';
import { dropDatabaseAfter, H, item, matched, newEnv, noticeSent, providerState, publish, Publish, record, removalReported, startInstance, topicOf, waitForCase } from './helpers';

test('enforcement case writes hint the relay: their events go out without any sweep of case_log', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock, { OUTBOX_POLL_MS: '600000' });
  const rec = await record(t, env, [Topics.casesClosed]);
  await publish(app, Topics.providers, [providerState('acme-hosting', 'NL', 'hosting-nl', 'Acme Hosting B.V.')]);
  const log = app.mongo.db.collection<CaseRecord>(CASE_LOG);
  const closed = () => rec.on(topicOf(env, Topics.casesClosed)).map((m) => m.json<{ id: string; data: CasesClosedData }>());

  // A pending entry no writer hinted, written after the relay's start-up sweep (which takes every
  // pending entry): only a sweep asked for by notify() without a hint publishes it.
  await app.outbox.swept;
  const leftoverCase = `leftover-${randomUUID()}`;
  const leftoverEvent = createEvent(CasesClosed, {
    subject: leftoverCase,
    source: 'enforcement',
    data: { caseId: leftoverCase, providerId: 'acme-hosting', outcome: 'removed', closedAt: clock.now().toISOString(), reportIds: [] },
  });
  await log.insertOne({
    _id: `${leftoverCase}@1`, caseId: leftoverCase, seq: 1, at: clock.now(), input: 'test leftover', state: {} as CaseRecord['state'],
    evidence: [], evidenceHead: null, outbox: [outboxEntry(Topics.casesClosed, leftoverEvent)],
  });
  const leftoverPending = async (): Promise<number> => (await log.findOne({ _id: `${leftoverCase}@1` }))?.outbox?.length ?? 0;
  const leftoverPublished = (): boolean => closed().some((e) => e.id === leftoverEvent.id);

  await t.test('a closing change reaches cases.closed through its hint', async () => {
    const a = item(`hint-${randomUUID()}`);
    const t0 = clock.now();
    await Publish.matched(app, [matched(a, t0)]);
    await Publish.notices(app, [noticeSent(`n-${a.reportId}`, [a], t0)]);
    await waitForCase(app, a.caseId, (c) => c.status === CaseStatus.OPEN, 'case open');
    clock.advance(2 * H);
    await publish(app, Topics.removalsReported, [removalReported({ reportId: a.reportId, observedAt: new Date(t0.getTime() + H).toISOString(), status: 'removed', reporter: 'recheck-partner' })]);
    await waitForCase(app, a.caseId, (c) => c.status === CaseStatus.CLOSED, 'case closed by the observation');
    const event = await waitFor(() => closed().find((e) => e.data.caseId === a.caseId), { timeoutMs: 60_000, what: 'cases.closed (only a hint can publish it)' });
    assert.equal(event.data.outcome, 'removed');
    // The relay removes published entries right after the send, in the update that would also
    // have removed the leftover's had a sweep found both.
    await waitFor(async () => (await log.find({ caseId: a.caseId }).toArray()).every((r) => (r.outbox?.length ?? 0) === 0) || undefined, { timeoutMs: 30_000, what: 'the case records\' entries removed' });
    assert.equal(await leftoverPending(), 1, 'the unhinted entry is still pending: no sweep ran');
    assert.equal(leftoverPublished(), false);
  });

  await t.test('the leftover was publishable: a notify() without a hint sweeps it out', async () => {
    app.outbox.notify();
    await waitFor(() => leftoverPublished() || undefined, { timeoutMs: 30_000, what: 'the leftover published by the sweep' });
    await waitFor(async () => (await leftoverPending()) === 0 || undefined, { timeoutMs: 30_000, what: 'the leftover removed after publishing' });
  });
});
