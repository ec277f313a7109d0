import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '@hashcheck/evidence';
import { Topics, type EnforcementEscalatedData, type NoticesRequestedData } from '@hashcheck/events';
import { infra } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { bearer, DAY, dropDatabaseAfter, issueKey, item, matched, newEnv, noticeSent, Publish, record, startInstance, topicOf, waitForCase } from './helpers';

const SECOND = 1000;

test('a notice that is never confirmed climbs every step of the ladder, with officer decisions where required', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock);
  const rec = await record(t, env, [Topics.noticesRequested, Topics.enforcementEscalated, Topics.casesClosed]);
  const officer = await issueKey(app, env, { scope: 'regulator', label: 'officer-7' });
  const provider = await issueKey(app, env, { scope: 'provider', providerId: 'acme-hosting', label: 'acme abuse desk' });

  const it = item('never-removed');
  const t0 = clock.now();
  await Publish.matched(app, [matched(it, t0)]);
  await Publish.notices(app, [noticeSent('n-esc-1', [it], t0)]);
  await waitForCase(app, it.caseId, (c) => c.status === CaseStatus.OPEN && c.hashes.length === 1, 'case opened by the notice');

  const decide = async (stepIndex: number, decision = 'issue') => {
    const res = await app.inject({ method: 'POST', url: `/v1/cases/${it.caseId}/decisions`, headers: bearer(officer), payload: { stepIndex, decision, note: 'content still online on re-check' } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { stepIndex: number; status: string; penalty: { accruedEur: number; capped: boolean } | null; deadlineAt: string };
  };

  // Nothing happens before the deadline.
  clock.set(t0.getTime() + DAY - SECOND);
  await app.enforcementTimers.poke();
  assert.equal((await app.enforcement.cases.get(it.caseId))?.stepIndex, -1);

  // 1. re-notice through notification.
  clock.set(t0.getTime() + DAY + SECOND);
  await waitForCase(app, it.caseId, (c) => c.stepIndex === 0, 're-notice issued');
  const [renotice] = await rec.waitForCount(topicOf(env, Topics.noticesRequested), 1);
  const req = renotice!.json<{ data: NoticesRequestedData }>().data;
  assert.equal(req.reason, 'deadline-passed');
  assert.equal(req.attempt, 2);
  assert.deepEqual(req.caseIds, [it.caseId]);
  assert.equal(req.items?.[0]?.url, it.url);
  assert.equal(req.deadlineAt, new Date(clock.now().getTime() + DAY).toISOString());

  // 2. reminder.
  clock.advance(DAY + SECOND);
  await waitForCase(app, it.caseId, (c) => c.stepIndex === 1, 'reminder issued');
  await rec.waitForCount(topicOf(env, Topics.noticesRequested), 2);

  // 3. binding instruction: waits for an officer, whatever the clock does meanwhile.
  clock.advance(DAY + SECOND);
  await waitForCase(app, it.caseId, (c) => c.status === CaseStatus.AWAITING_OFFICER && c.pending?.index === 2, 'binding instruction proposed');
  clock.advance(3 * DAY);
  await app.enforcementTimers.poke();
  assert.equal((await app.enforcement.cases.get(it.caseId))?.stepIndex, 1, 'no step without the officer');
  const page = await app.inject({ url: '/v1/cases?limit=1', headers: bearer(officer) });
  assert.equal(page.statusCode, 200, `a page size can be given: ${page.body}`);
  assert.equal(page.json().cases.length, 1);
  assert.equal((await app.inject({ url: '/v1/cases?limit=0', headers: bearer(officer) })).statusCode, 400);
  const forbidden = await app.inject({ method: 'POST', url: `/v1/cases/${it.caseId}/decisions`, headers: bearer(provider), payload: { stepIndex: 2, decision: 'issue' } });
  assert.equal(forbidden.statusCode, 403, 'a provider key cannot decide escalation steps');
  const wrongStep = await app.inject({ method: 'POST', url: `/v1/cases/${it.caseId}/decisions`, headers: bearer(officer), payload: { stepIndex: 3, decision: 'issue' } });
  assert.equal(wrongStep.statusCode, 409);
  assert.equal((await decide(2)).stepIndex, 2);

  // 4. order subject to a penalty, dated at the decision; accrual per started day up to the cap.
  clock.advance(DAY + SECOND);
  await waitForCase(app, it.caseId, (c) => c.pending?.index === 3, 'penalty order proposed');
  const order = await decide(3);
  const orderDate = clock.now().getTime();
  assert.equal(order.penalty?.accruedEur, 0);
  assert.equal(order.deadlineAt, new Date(orderDate + 10 * DAY).toISOString(), 'runs until the cap (50 000 at 5 000 a day)');
  clock.advance(2 * DAY + SECOND);
  const during = (await app.inject({ url: `/v1/cases/${it.caseId}`, headers: bearer(officer) })).json() as { penalty: { accruedEur: number; periods: number } };
  assert.deepEqual({ accrued: during.penalty.accruedEur, periods: during.penalty.periods }, { accrued: 15_000, periods: 3 });

  // 5. fine proposal once the order has run out.
  clock.set(orderDate + 10 * DAY + SECOND);
  await waitForCase(app, it.caseId, (c) => c.pending?.index === 4, 'fine proposal proposed');
  await decide(4);
  clock.advance(14 * DAY + SECOND);
  await waitForCase(app, it.caseId, (c) => c.dueAt === null && c.status === CaseStatus.OPEN, 'ladder exhausted, case still open');

  const escalated = (await rec.waitForCount(topicOf(env, Topics.enforcementEscalated), 5)).map((m) => m.json<{ data: EnforcementEscalatedData }>().data);
  assert.deepEqual(escalated.map((e) => e.step), ['renotice', 'reminder', 'binding-instruction', 'penalty-order', 'fine-proposal']);
  assert.deepEqual(escalated.map((e) => e.stepIndex), [0, 1, 2, 3, 4]);
  assert.deepEqual(escalated.map((e) => e.decidedBy), ['system', 'system', 'officer-7', 'officer-7', 'officer-7']);
  assert.deepEqual([escalated[3]?.penaltyAmountEur, escalated[3]?.penaltyPeriodSeconds, escalated[3]?.penaltyCapEur], [5000, 86_400, 50_000]);
  assert.equal(escalated[4]?.fineEur, 100_000);
  assert.equal(rec.on(topicOf(env, Topics.casesClosed)).length, 0, 'never closed: the content is still up');

  // Every step is in the evidence file, and the file verifies against the exported head.
  const ev = await app.inject({ url: `/v1/cases/${it.caseId}/evidence`, headers: bearer(officer) });
  assert.equal(ev.statusCode, 200);
  assert.match(ev.headers['content-type'] as string, /application\/x-ndjson/);
  const result = verify(ev.body, { expectedHead: ev.headers['x-evidence-head'] as string });
  assert.equal(result.ok, true, JSON.stringify(result));
  const kinds = ev.body.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
  assert.equal(kinds.filter((k) => k === 'escalation.issued').length, 5);
  assert.equal(kinds.filter((k) => k === 'officer.decision').length, 3);
  // The match and the notice travel on different topics, so either may open the case.
  assert.deepEqual(kinds.slice(0, 4).sort(), ['case.opened', 'clock.started', 'notice.sent', 'report.matched']);
});
