import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '@hashcheck/evidence';
import { Topics, type CasesClosedData } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { bearer, DAY, dropDatabaseAfter, H, issueKey, item, matched, newEnv, noticeSent, providerState, publish, Publish, record, removalReported, startInstance, topicOf, waitForCase } from './helpers';

test('removals: confirmations, re-check observations, re-uploads and the monitor figures', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock);
  const rec = await record(t, env, [Topics.casesClosed]);
  await publish(app, Topics.providers, [providerState('acme-hosting', 'NL', 'hosting-nl', 'Acme Hosting B.V.'), providerState('other-hosting', 'DE', 'hosting-eu')]);
  const acme = await issueKey(app, env, { scope: 'provider', providerId: 'acme-hosting', label: 'acme abuse desk' });
  const other = await issueKey(app, env, { scope: 'provider', providerId: 'other-hosting', label: 'other abuse desk' });
  const hotline = await issueKey(app, env, { scope: 'hotline', label: 'analyst-3' });
  const closedEvents = () => rec.on(topicOf(env, Topics.casesClosed)).map((m) => m.json<{ data: CasesClosedData }>().data);

  const a = item('confirmed');
  await t.test('a provider confirmation closes the case with the time from the notice to the confirmation', async () => {
    const t0 = clock.now();
    await Publish.matched(app, [matched(a, t0)]);
    await Publish.notices(app, [noticeSent('n-a', [a], t0)]);
    await waitForCase(app, a.caseId, (c) => c.status === CaseStatus.OPEN && c.reportIds.length === 1 && c.hashes.length === 1, 'case open');
    clock.advance(5.5 * H);

    const foreign = await app.inject({ method: 'POST', url: '/v1/notices/n-a/removal', headers: bearer(other), payload: {} });
    assert.equal(foreign.statusCode, 404, 'another provider\'s key does not even learn the notice exists');
    const anonymous = await app.inject({ method: 'POST', url: '/v1/notices/n-a/removal', payload: {} });
    assert.equal(anonymous.statusCode, 401);

    const claimed = new Date(t0.getTime() + H).toISOString();
    const res = await app.inject({ method: 'POST', url: '/v1/notices/n-a/removal', headers: bearer(acme), payload: { removedAt: claimed, note: 'deleted the account' } });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { cases: Array<{ result: string; case: { status: string; timeToRemovalSeconds: number; withinDeadline: boolean } }> };
    assert.equal(body.cases[0]?.result, 'changed');
    assert.deepEqual(
      { status: body.cases[0]?.case.status, seconds: body.cases[0]?.case.timeToRemovalSeconds, within: body.cases[0]?.case.withinDeadline },
      { status: 'closed', seconds: 5.5 * 3600, within: true },
    );
    const again = await app.inject({ method: 'POST', url: '/v1/notices/n-a/removal', headers: bearer(acme), payload: {} });
    assert.equal((again.json() as { cases: Array<{ result: string }> }).cases[0]?.result, 'unchanged');

    await waitFor(() => closedEvents().find((e) => e.caseId === a.caseId), { what: 'cases.closed for the confirmed case' });
    const closed = closedEvents().filter((e) => e.caseId === a.caseId);
    assert.equal(closed.length, 1);
    assert.deepEqual({ outcome: closed[0]!.outcome, seconds: closed[0]!.timeToRemovalSeconds, within: closed[0]!.withinDeadline, reports: closed[0]!.reportIds }, { outcome: 'removed', seconds: 19_800, within: true, reports: [a.reportId] });

    const ev = await app.inject({ url: `/v1/cases/${a.caseId}/evidence`, headers: bearer(hotline) });
    assert.equal(verify(ev.body).ok, true);
    const confirmation = ev.body.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; data: Record<string, unknown> }).find((e) => e.kind === 'removal.confirmed');
    assert.equal(confirmation?.data.claimedRemovedAt, claimed, 'the provider\'s own claim is kept as evidence');
    assert.equal(confirmation?.data.by, 'provider:acme-hosting');
  });

  const b = item('observed');
  await t.test('a re-check partner\'s observation closes a late case at the time it was observed', async () => {
    const t1 = clock.now();
    await Publish.matched(app, [matched(b, t1)]);
    await Publish.notices(app, [noticeSent('n-b', [b], t1)]);
    await waitForCase(app, b.caseId, (c) => c.status === CaseStatus.OPEN, 'case open');
    clock.advance(DAY + 60_000);
    await waitForCase(app, b.caseId, (c) => c.stepIndex === 0, 're-notice after the missed deadline');
    await publish(app, Topics.removalsReported, [removalReported({ caseKey: b.caseKey, observedAt: new Date(t1.getTime() + 25 * H).toISOString(), status: 'still-online', reporter: 'recheck-partner' })]);
    clock.advance(6 * H);
    await publish(app, Topics.removalsReported, [removalReported({ reportId: b.reportId, observedAt: new Date(t1.getTime() + 27 * H).toISOString(), status: 'removed', reporter: 'recheck-partner' })]);
    const c = await waitForCase(app, b.caseId, (x) => x.status === CaseStatus.CLOSED, 'case closed by the observation');
    assert.equal(c.timeToRemovalMs, 27 * H);
    assert.equal(c.withinDeadline, false);
    const ev = await app.inject({ url: `/v1/cases/${b.caseId}/evidence`, headers: bearer(hotline) });
    const kinds = ev.body.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
    assert.ok(kinds.indexOf('observation.still-online') < kinds.indexOf('removal.observed'));
  });

  await t.test('a match of content already removed at the same provider is a re-upload and starts further up the ladder', async () => {
    const c = item('reupload', 'acme-hosting', a.sha256);
    const t2 = clock.now();
    await Publish.matched(app, [matched(c, t2)]);
    await Publish.notices(app, [noticeSent('n-c', [c], t2)]);
    const flagged = await waitForCase(app, c.caseId, (x) => x.reupload && x.status === CaseStatus.OPEN, 're-upload flagged');
    assert.equal(flagged.reuploadOf, a.caseId);
    // The same content at another provider is not a re-upload.
    const d = item('elsewhere', 'other-hosting', a.sha256);
    await Publish.matched(app, [matched(d, t2)]);
    assert.equal((await waitForCase(app, d.caseId, () => true, 'case at the other provider')).reupload, false);

    clock.advance(DAY + 60_000);
    const escalated = await waitForCase(app, c.caseId, (x) => x.status === CaseStatus.AWAITING_OFFICER, 'jumped to the officer step');
    assert.equal(escalated.pending?.name, 'binding-instruction');
  });

  await t.test('the monitor API has the figures per provider and per country', async () => {
    const monitor = async (path: string) => (await app.inject({ url: path, headers: bearer(hotline) })).json() as Record<string, unknown>;
    type Row = { providerId: string; name: string; country: string; reports: number; notices: number; removed: number; withinDeadlineShare: number; medianSeconds: number; p90Seconds: number; outstanding: number; escalations: number; reuploads: number };
    const row = await waitFor(async () => {
      const r = ((await monitor('/v1/monitor/providers')).providers as Row[]).find((x) => x.providerId === 'acme-hosting');
      return r && r.removed === 2 && r.notices === 3 && r.escalations >= 1 ? r : undefined;
    }, { what: 'monitor figures for acme-hosting' });
    assert.equal(row.name, 'Acme Hosting B.V.');
    assert.equal(row.country, 'NL');
    assert.equal(row.reports, 3);
    assert.equal(row.withinDeadlineShare, 0.5);
    assert.equal(row.medianSeconds, (5.5 + 27) / 2 * 3600);
    assert.ok(Math.abs(row.p90Seconds - (5.5 + 0.9 * 21.5) * 3600) < 1e-6);
    assert.equal(row.outstanding, 1);
    assert.equal(row.reuploads, 1);
    const countries = (await monitor('/v1/monitor/countries')).countries as Array<{ country: string; removed: number; reports: number }>;
    assert.deepEqual(countries.map((c) => [c.country, c.removed]).sort(), [['DE', 0], ['NL', 2]]);
    const dist = await monitor('/v1/monitor/distribution?providerId=acme-hosting') as { total: number; buckets: Array<{ label: string; count: number }> };
    assert.equal(dist.total, 2);
    assert.deepEqual(dist.buckets.filter((x) => x.count > 0).map((x) => x.label), ['1h–6h', '24h–2d']);
    const forbidden = await app.inject({ url: '/v1/monitor/providers', headers: bearer(acme) });
    assert.equal(forbidden.statusCode, 403, 'providers do not see the monitor');
  });

  await t.test('a removal report read before the case it names is kept, and applied when the case arrives', async () => {
    const e = item('removed-before-enforcement-saw-it');
    const t3 = clock.now();
    // After a restart with a backlog, the re-check partner's observation can come first.
    await publish(app, Topics.removalsReported, [removalReported({ reportId: e.reportId, observedAt: new Date(t3.getTime() + 2 * H).toISOString(), status: 'removed', reporter: 'recheck-partner' })]);
    await waitFor(async () => ((await app.enforcement.cases.parked.countDocuments({ 'report.reportId': e.reportId })) === 1 ? true : undefined), { what: 'the observation kept' });
    assert.equal(await app.enforcement.cases.get(e.caseId), undefined);
    // Enforcement catches up later: the report and the notice (sent at t3) are read now.
    clock.advance(3 * H);
    await Publish.matched(app, [matched(e, t3)]);
    await Publish.notices(app, [noticeSent('n-e', [e], t3)]);
    const c = await waitForCase(app, e.caseId, (x) => x.status === CaseStatus.CLOSED, 'case closed by the kept observation');
    assert.equal(c.outcome, 'removed');
    assert.equal(c.timeToRemovalMs, 2 * H);
    await waitFor(async () => ((await app.enforcement.cases.parked.countDocuments({})) === 0 ? true : undefined), { what: 'nothing kept any more' });
  });
});
