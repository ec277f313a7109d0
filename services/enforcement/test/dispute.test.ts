import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEvent, HashesRetractionRequested, Topics, type CasesClosedData, type HashesRetractionRequestedData, type NoticesRequestedData } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { bearer, dropDatabaseAfter, H, issueKey, item, matched, newEnv, noticeSent, publish, Publish, record, startInstance, topicOf, waitForCase } from './helpers';

test('disputes: the clock pauses and resumes; an upheld false positive retracts the hash and closes every case on it', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock);
  const rec = await record(t, env, [Topics.noticesRequested, Topics.casesClosed, Topics.hashesRetractionRequested]);
  const acme = await issueKey(app, env, { scope: 'provider', providerId: 'acme-hosting', label: 'acme abuse desk' });
  const otherKey = await issueKey(app, env, { scope: 'provider', providerId: 'other-hosting', label: 'other abuse desk' });
  const hotline = await issueKey(app, env, { scope: 'hotline', label: 'analyst-3' });
  const requestsFor = (caseId: string) => rec.on(topicOf(env, Topics.noticesRequested)).map((m) => m.json<{ data: NoticesRequestedData }>().data).filter((d) => d.caseIds.includes(caseId));

  await t.test('a dispute pauses the clock; a rejected dispute resumes it with the paused time added', async () => {
    const a = item('disputed');
    const t0 = clock.now().getTime();
    await Publish.matched(app, [matched(a, new Date(t0))]);
    await Publish.notices(app, [noticeSent('n-a', [a], new Date(t0))]);
    await waitForCase(app, a.caseId, (c) => c.status === CaseStatus.OPEN, 'case open');

    clock.set(t0 + 20 * H);
    const opened = await app.inject({ method: 'POST', url: '/v1/notices/n-a/dispute', headers: bearer(acme), payload: { reason: 'this is a photo of a painting in our museum shop' } });
    assert.equal(opened.statusCode, 201, opened.body);
    const disputeId = (opened.json() as { cases: Array<{ disputeId: string }> }).cases[0]!.disputeId;
    assert.ok(disputeId);
    const twice = await app.inject({ method: 'POST', url: '/v1/notices/n-a/dispute', headers: bearer(acme), payload: { reason: 'again please' } });
    assert.equal(twice.statusCode, 409);
    const listed = (await app.inject({ url: '/v1/disputes', headers: bearer(hotline) })).json() as { disputes: Array<{ disputeId: string }> };
    assert.ok(listed.disputes.some((d) => d.disputeId === disputeId));

    // Past the original deadline while paused: nothing escalates.
    clock.set(t0 + 30 * H);
    await app.enforcementTimers.poke();
    const paused = await app.enforcement.cases.get(a.caseId);
    assert.equal(paused?.status, CaseStatus.DISPUTED);
    assert.equal(paused?.stepIndex, -1);
    assert.equal(requestsFor(a.caseId).length, 0);

    const byProvider = await app.inject({ method: 'POST', url: `/v1/disputes/${disputeId}/decision`, headers: bearer(acme), payload: { decision: 'false-positive' } });
    assert.equal(byProvider.statusCode, 403, 'a provider cannot decide its own dispute');
    const decided = await app.inject({ method: 'POST', url: `/v1/disputes/${disputeId}/decision`, headers: bearer(hotline), payload: { decision: 'rejected', note: 'matches the police list; not a painting' } });
    assert.equal(decided.statusCode, 200, decided.body);
    const view = (decided.json() as { case: { status: string; deadlineAt: string; pausedMs: number } }).case;
    assert.equal(view.status, CaseStatus.OPEN);
    assert.equal(view.pausedMs, 10 * H);
    assert.equal(view.deadlineAt, new Date(t0 + 34 * H).toISOString(), '24 h plus the 10 h paused');
    // The provider learns that a case officer decided, not which one; staff see the label.
    const seenByProvider = await app.inject({ url: '/v1/notices/n-a', headers: bearer(acme) });
    assert.equal(seenByProvider.statusCode, 200, seenByProvider.body);
    const providerDispute = (seenByProvider.json() as { cases: Array<{ disputes: Array<{ openedBy: string; decidedBy: string | null }> }> }).cases[0]!.disputes[0]!;
    assert.deepEqual([providerDispute.openedBy, providerDispute.decidedBy], ['provider:acme-hosting', 'case officer']);
    assert.doesNotMatch(seenByProvider.body, /analyst-3/, 'no hotline staff label reaches the provider');
    const seenByStaff = (await app.inject({ url: `/v1/cases/${encodeURIComponent(a.caseId)}`, headers: bearer(hotline) })).json() as { disputes: Array<{ decidedBy: string | null }> };
    assert.equal(seenByStaff.disputes[0]!.decidedBy, 'analyst-3');

    clock.set(t0 + 34 * H - 1000);
    await app.enforcementTimers.poke();
    assert.equal((await app.enforcement.cases.get(a.caseId))?.stepIndex, -1, 'not before the extended deadline');
    clock.set(t0 + 34 * H + 1000);
    await waitForCase(app, a.caseId, (c) => c.stepIndex === 0, 're-notice after the extended deadline');
    await waitFor(() => requestsFor(a.caseId).length === 1, { what: 'one notices.requested for the disputed case' });
  });

  await t.test('a dispute upheld as a false positive asks hash-check to retract the hash and closes every open case on it', async () => {
    const b = item('false-positive');
    const c = item('same-content-elsewhere', 'other-hosting', b.sha256);
    const now = clock.now();
    await Publish.matched(app, [matched(b, now), matched(c, now)]);
    await Publish.notices(app, [noticeSent('n-b', [b], now), noticeSent('n-c', [c], now)]);
    await waitForCase(app, b.caseId, (x) => x.status === CaseStatus.OPEN && x.hashes.length === 1, 'case b open');
    await waitForCase(app, c.caseId, (x) => x.status === CaseStatus.OPEN && x.hashes.length === 1, 'case c open');
    const foreign = await app.inject({ method: 'POST', url: '/v1/notices/n-b/dispute', headers: bearer(otherKey), payload: { reason: 'not ours' } });
    assert.equal(foreign.statusCode, 404);

    const opened = await app.inject({ method: 'POST', url: '/v1/notices/n-b/dispute', headers: bearer(acme), payload: { reason: 'this is our company logo' } });
    const disputeId = (opened.json() as { cases: Array<{ disputeId: string }> }).cases[0]!.disputeId;
    const decided = await app.inject({ method: 'POST', url: `/v1/disputes/${disputeId}/decision`, headers: bearer(hotline), payload: { decision: 'false-positive' } });
    assert.equal(decided.statusCode, 200, decided.body);
    // The sweep runs inline and again when enforcement consumes its own retraction request;
    // whichever comes first closes the other case, the other finds nothing left to do.
    assert.ok((decided.json() as { sweptCases: number }).sweptCases <= 1);

    for (const x of [b, c]) {
      const s = await waitForCase(app, x.caseId, (y) => y.status === CaseStatus.CLOSED, 'closed as a false positive');
      assert.equal(s.outcome, 'false-positive');
    }
    const [retraction] = await rec.waitForCount(topicOf(env, Topics.hashesRetractionRequested), 1);
    const r = retraction!.json<{ subject: string; data: HashesRetractionRequestedData }>();
    assert.deepEqual({ hashType: r.data.hashType, hash: r.data.hash, caseId: r.data.caseId }, { hashType: 'sha256', hash: b.sha256, caseId: b.caseId });
    assert.equal(r.subject, `sha256:${b.sha256}`);
    await waitFor(() => {
      const closed = rec.on(topicOf(env, Topics.casesClosed)).map((m) => m.json<{ data: CasesClosedData }>().data).filter((d) => d.outcome === 'false-positive');
      return closed.length >= 2 ? closed : undefined;
    }, { what: 'two cases.closed as false positive' });
    // The retraction request is consumed by enforcement too; it finds nothing left to close.
    await new Promise((r2) => setTimeout(r2, 500));
    const closedFp = rec.on(topicOf(env, Topics.casesClosed)).map((m) => m.json<{ data: CasesClosedData }>().data).filter((d) => d.outcome === 'false-positive');
    assert.deepEqual(closedFp.map((d) => d.caseId).sort(), [b.caseId, c.caseId].sort());
  });

  await t.test('a retraction request replayed later leaves a case opened after it alone', async () => {
    const d = item('opened-after-the-request');
    const now = clock.now();
    await Publish.matched(app, [matched(d, now)]);
    await Publish.notices(app, [noticeSent('n-d', [d], now)]);
    await waitForCase(app, d.caseId, (x) => x.status === CaseStatus.OPEN && x.hashes.length === 1, 'case d open');
    const request = (requestId: string, at: Date) => createEvent(HashesRetractionRequested, { subject: `sha256:${d.sha256}`, source: 'enforcement', occurredAt: at, data: { requestId, hashType: 'sha256', hash: d.sha256, reason: 'false positive' } });
    // A request from before the case (the hotline rejected the retraction; the hash kept matching).
    await publish(app, Topics.hashesRetractionRequested, [request('req-old', new Date(now.getTime() - H))]);
    await new Promise((r2) => setTimeout(r2, 1500));
    assert.equal((await app.enforcement.cases.get(d.caseId))?.status, CaseStatus.OPEN, 'the old request closed a case opened after it');
    // A request from after it closes it.
    await publish(app, Topics.hashesRetractionRequested, [request('req-new', new Date(now.getTime() + 60_000))]);
    await waitForCase(app, d.caseId, (x) => x.status === CaseStatus.CLOSED && x.outcome === 'false-positive', 'closed by the newer request');
  });
});
