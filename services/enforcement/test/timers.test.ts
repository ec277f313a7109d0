import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics, type EnforcementEscalatedData, type NoticesRequestedData } from '@hashcheck/events';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { infra, waitFor } from '@hashcheck/testing';
import { AcceleratedClock, CaseStatus, ManualClock, type CaseState } from '@hashcheck/enforcement';
import type { App } from '@hashcheck/http';
import { closeInstance, DAY, dropDatabaseAfter, H, item, matched, newEnv, noticeSent, Publish, record, startInstance, topicOf, waitForCase, type Item } from './helpers';

async function evidenceKinds(app: App, caseId: string): Promise<string[]> {
  const ev = await app.enforcement.cases.evidence(caseId);
  return (ev?.entries ?? []).map((e) => e.kind);
}

async function openCases(app: App, items: Item[], at: Date, perNotice = 10): Promise<void> {
  await Publish.matched(app, items.map((it) => matched(it, at)));
  const notices = [];
  for (let i = 0; i < items.length; i += perNotice) notices.push(noticeSent(`n-${items[i]!.reportId}`, items.slice(i, i + perNotice), at));
  await Publish.notices(app, notices);
  for (const it of items) await waitForCase(app, it.caseId, (c) => c.status === CaseStatus.OPEN && c.hashes.length === 1, 'case open');
}

test('two enforcement instances on one database never fire the same timer twice', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const one = await startInstance(t, env, clock, { INSTANCE_ID: 'one' });
  const two = await startInstance(t, env, clock, { INSTANCE_ID: 'two' });
  const rec = await record(t, env, [Topics.noticesRequested, Topics.enforcementEscalated]);

  const started = Date.now();
  const items = Array.from({ length: 24 }, (_, i) => item(`race-${i}`));
  await openCases(one, items, clock.now(), 8);
  t.diagnostic(`cases open after ${Date.now() - started} ms`);
  clock.advance(DAY + 1000);
  for (const it of items) await waitForCase(one, it.caseId, (c) => c.stepIndex === 0, 're-notice issued');
  t.diagnostic(`all fired after ${Date.now() - started} ms`);
  // Let any duplicate that would come, come.
  await new Promise((r) => setTimeout(r, 1000));

  const s1 = one.enforcement.service.timerStats;
  const s2 = two.enforcement.service.timerStats;
  t.diagnostic(`instance one fired ${s1.fired} (claimed ${s1.claimed}), instance two fired ${s2.fired} (claimed ${s2.claimed})`);
  assert.equal(s1.fired + s2.fired, items.length, 'every timer fired exactly once across both instances');
  for (const it of items) {
    const kinds = await evidenceKinds(one, it.caseId);
    assert.equal(kinds.filter((k) => k === 'escalation.issued').length, 1, `one escalation in the evidence of ${it.reportId}`);
    assert.equal(kinds.filter((k) => k === 'deadline.missed').length, 1);
  }
  await waitFor(() => new Set(rec.on(topicOf(env, Topics.enforcementEscalated)).map((m) => m.json<{ id: string }>().id)).size >= items.length, { what: 'every escalation published' });
  // The relay publishes at least once (both instances relay); what must never exist is a second,
  // different escalation or re-notice request for the same case and step.
  const escalated = rec.on(topicOf(env, Topics.enforcementEscalated)).map((m) => m.json<{ id: string; data: EnforcementEscalatedData }>());
  assert.equal(new Set(escalated.map((e) => e.id)).size, items.length);
  assert.deepEqual(new Set(escalated.map((e) => e.data.caseId)), new Set(items.map((it) => it.caseId)));
  const requestIds = new Set(rec.on(topicOf(env, Topics.noticesRequested)).map((m) => m.json<{ data: NoticesRequestedData }>().data.requestId));
  assert.equal(requestIds.size, items.length);
});

test('timers survive a restart, and a timer claimed by an instance that died is fired once its lease runs out', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  // One real second is ten hours: a 24 h deadline passes in 2.4 s, in every instance alike.
  const clock = new AcceleratedClock(36_000, Date.now(), Date.UTC(2025, 2, 3, 9));
  const first = await startInstance(t, env, clock, { INSTANCE_ID: 'first' });
  const items = Array.from({ length: 6 }, (_, i) => item(`restart-${i}`));
  const sentAt = clock.now();
  await openCases(first, items, sentAt, 6);
  await closeInstance(first);

  // While nothing runs, the deadline passes. Two of the timers were claimed by an instance that
  // then died: their claims hold for 3 more real seconds.
  const { MongoClient } = await import('mongodb');
  const mongo = new MongoClient(inf.mongoUri, { retryWrites: false });
  await mongo.connect();
  t.after(() => mongo.close());
  const db = mongo.db(env.db);
  const crashedLeaseUntil = new Date(Date.now() + 3000);
  for (const it of items.slice(0, 2)) {
    const view = await db.collection<{ _id: string; seq: number }>('cases').findOne({ _id: it.caseId });
    assert.ok(view);
    await db.collection('timer_claims').insertOne({ _id: `${it.caseId}@${view.seq}#1` as never, caseId: it.caseId, seq: view.seq, attempt: 1, owner: 'crashed', claimedAt: new Date(), leaseUntil: crashedLeaseUntil });
  }
  await waitFor(() => clock.now().getTime() > sentAt.getTime() + DAY + H, { timeoutMs: 10_000, what: 'the deadline to pass' });

  const second = await startInstance(t, env, clock, { INSTANCE_ID: 'second' });
  for (const it of items.slice(2)) await waitForCase(second, it.caseId, (c) => c.stepIndex >= 0, 'fired after the restart', 15_000);
  let crashed: CaseState | undefined;
  for (const it of items.slice(0, 2)) crashed = await waitForCase(second, it.caseId, (c) => c.stepIndex >= 0, 'fired after the dead claim expired', 15_000);
  assert.ok(crashed);
  for (const it of items.slice(0, 2)) {
    const claims = await db.collection<{ attempt: number; owner: string; claimedAt: Date }>('timer_claims').find({ caseId: it.caseId }).sort({ claimedAt: 1 }).toArray();
    const taken = claims.find((c) => c.owner === 'second');
    assert.ok(taken, 'the new instance claimed it');
    assert.ok(taken.attempt >= 2);
    assert.ok(taken.claimedAt.getTime() >= crashedLeaseUntil.getTime(), 'not before the dead instance\'s lease ran out');
  }
  for (const it of items) {
    const kinds = await evidenceKinds(second, it.caseId);
    assert.ok(kinds.includes('escalation.issued'));
    const steps = (await second.enforcement.cases.get(it.caseId))!.steps.map((s) => s.index);
    assert.deepEqual(steps, [...new Set(steps)], 'no step issued twice');
  }
});

// A writer killed after appending a case's record but before it updated the view and the timer
// (the window the scale suite's SIGKILL fell into): the notice is redelivered, the log already
// has it, so nothing changes, and the view and timer must still be brought up to date, or the
// deadline would never fire.
for (const target of ['view', 'timers'] as const) {
  test(`a writer that died before writing the ${target} after a case's record leaves no deadline unfired`, async (t) => {
    const inf = infra(t);
    if (!inf) return;
    const env = newEnv(inf);
    dropDatabaseAfter(t, env);
    const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
    const app = await startInstance(t, env, clock, { INSTANCE_ID: 'one' });
    const [it] = [item(`died-${target}`)];
    await Publish.matched(app, [matched(it!, clock.now())]);
    await waitForCase(app, it!.caseId, () => true, 'case created');

    const cases = app.enforcement.cases;
    const coll = target === 'view' ? cases.coll : cases.timers;
    const original = coll.replaceOne.bind(coll) as (...args: unknown[]) => Promise<unknown>;
    let failed = 0;
    // The process "dies" at its next write of the view or timer: that write never happens, the
    // handler does not finish, and the message is delivered again.
    (coll as { replaceOne: unknown }).replaceOne = async (...args: unknown[]) => {
      if (failed === 0) {
        failed += 1;
        throw new HashCheckError(ErrorCode.DEPENDENCY_UNAVAILABLE, `simulated crash before the ${target} write`, { retriable: true });
      }
      return original(...args);
    };
    t.after(() => { (coll as { replaceOne: unknown }).replaceOne = original; });
    await Publish.notices(app, [noticeSent(`n-died-${target}`, [it!], clock.now())]);
    await waitForCase(app, it!.caseId, (c) => c.notices.length === 1, 'notice recorded in the log');
    await waitFor(() => failed === 1, { what: 'the simulated crash' });

    const latest = await cases.latest(it!.caseId);
    await waitFor(async () => {
      const [view] = await cases.find({ _id: it!.caseId });
      const timer = await cases.timers.findOne({ _id: it!.caseId });
      return view?.notices.length === 1 && timer?.seq === latest?.seq;
    }, { timeoutMs: 20_000, what: 'the view and the timer brought up to date by the redelivery' });
    clock.advance(DAY + 1000);
    await waitForCase(app, it!.caseId, (c) => c.stepIndex === 0, 'the deadline fired', 20_000);
  });
}
