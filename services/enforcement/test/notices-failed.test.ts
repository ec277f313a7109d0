import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '@hashcheck/evidence';
import { Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { bearer, DAY, dropDatabaseAfter, issueKey, item, matched, newEnv, noticeFailed, noticeSent, Publish, record, startInstance, topicOf, waitForCase } from './helpers';

test('an undeliverable notice puts its case before a case officer, once, with the failure in the evidence', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock);
  const rec = await record(t, env, [Topics.noticesRequested]);
  const officer = await issueKey(app, env, { scope: 'regulator', label: 'officer-7' });
  const evidenceOf = async (caseId: string) => (await app.enforcement.cases.evidence(caseId))!.entries;
  const failures = async (caseId: string) => (await evidenceOf(caseId)).filter((e) => e.kind === 'notice.failed');
  const requestsFor = (caseId: string) => rec.on(topicOf(env, Topics.noticesRequested)).filter((m) => m.json<{ data: { caseIds: string[] } }>().data.caseIds.includes(caseId));

  // 1. The first notice reached nobody: the case does not stay pending without a clock.
  const first = item('first-undeliverable');
  const t0 = clock.now();
  await Publish.matched(app, [matched(first, t0)]);
  await waitForCase(app, first.caseId, (c) => c.status === CaseStatus.PENDING, 'case matched');
  const failure = noticeFailed('n-fail-1', [first], t0);
  await Publish.failures(app, [failure]);
  const waiting = await waitForCase(app, first.caseId, (c) => c.status === CaseStatus.AWAITING_OFFICER, 'case before an officer');
  assert.equal(waiting.pending?.name, 'renotice');
  assert.equal(waiting.dueAt, null);
  const [entry] = await failures(first.caseId);
  assert.ok(entry, 'notice.failed in the evidence');
  assert.deepEqual({ noticeId: (entry.data as { noticeId: string }).noticeId, channel: (entry.data as { channel: string }).channel }, { noticeId: 'n-fail-1', channel: 'email' });

  // 2. The same event again, and a channel given up while another is tried (no items): nothing
  //    changes. A later failure of the same provider (same partition) shows both were consumed.
  const open = item('delivered');
  await Publish.notices(app, [noticeSent('n-ok', [open], t0)]);
  await waitForCase(app, open.caseId, (c) => c.status === CaseStatus.OPEN, 'delivered case open');
  const marker = item('marker');
  await Publish.failures(app, [failure, noticeFailed('n-ok', [open], t0, { undeliverable: false, channel: 'webhook', reason: 'webhook 410' }), noticeFailed('n-fail-2', [marker], t0)]);
  await waitForCase(app, marker.caseId, (c) => c.status === CaseStatus.AWAITING_OFFICER, 'marker case (unknown until its failure) before an officer');
  assert.equal((await failures(first.caseId)).length, 1, 'a redelivered failure is recorded once');
  assert.equal((await app.enforcement.cases.get(open.caseId))?.status, CaseStatus.OPEN);
  assert.equal((await failures(open.caseId)).length, 0, 'a channel fallback is not a failure of the notice');

  // 3. A re-notice that reached nobody: no reminder against a notice the provider never got.
  const renoticed = item('renotice-undeliverable');
  await Publish.matched(app, [matched(renoticed, t0)]);
  await Publish.notices(app, [noticeSent('n-r1', [renoticed], t0)]);
  await waitForCase(app, renoticed.caseId, (c) => c.status === CaseStatus.OPEN, 'renoticed case open');
  clock.set(t0.getTime() + DAY + 1000);
  await waitForCase(app, renoticed.caseId, (c) => c.stepIndex === 0, 're-notice requested');
  await waitFor(() => requestsFor(renoticed.caseId).length === 1 || undefined, { what: 're-notice on the topic' });
  await Publish.failures(app, [noticeFailed('n-r2', [renoticed], clock.now())]);
  const stopped = await waitForCase(app, renoticed.caseId, (c) => c.status === CaseStatus.AWAITING_OFFICER, 're-notice failure before an officer');
  assert.equal(stopped.pending?.name, 'reminder');
  clock.advance(3 * DAY);
  await app.enforcementTimers.poke();
  assert.equal((await app.enforcement.cases.get(renoticed.caseId))?.stepIndex, 0, 'no escalation without the officer');
  assert.equal(requestsFor(renoticed.caseId).length, 1);

  // 4. The officer resumes the ladder with the usual decision: a re-notice is requested.
  const res = await app.inject({ method: 'POST', url: `/v1/cases/${first.caseId}/decisions`, headers: bearer(officer), payload: { stepIndex: 0, decision: 'issue', note: 'contact corrected' } });
  assert.equal(res.statusCode, 200, res.body);
  await waitFor(() => requestsFor(first.caseId).length === 1 || undefined, { what: 'the officer\'s re-notice on the topic' });

  const ev = await app.inject({ url: `/v1/cases/${first.caseId}/evidence`, headers: bearer(officer) });
  assert.equal(ev.statusCode, 200, ev.body);
  assert.equal(verify(ev.body, { expectedHead: ev.headers['x-evidence-head'] as string }).ok, true, 'the evidence with the failure verifies');
});
