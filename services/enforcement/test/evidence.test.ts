import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryHash, toNdjson, verify, VerifyProblem, type EvidenceEntry } from '@hashcheck/evidence';
import { infra, waitFor } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { bearer, DAY, dropDatabaseAfter, H, issueKey, item, matched, newEnv, noticeSent, Publish, startInstance, waitForCase } from './helpers';

test('the evidence file: exported, verified, tampering caught, and anonymised by retention with the chain intact', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock, { RETENTION_AFTER: '30d' });
  const hotline = await issueKey(app, env, { scope: 'hotline', label: 'analyst-3' });
  const acme = await issueKey(app, env, { scope: 'provider', providerId: 'acme-hosting', label: 'acme abuse desk' });

  const it = item('evidence');
  const open = item('still-open');
  const t0 = clock.now();
  await Publish.matched(app, [matched(it, t0), matched(open, t0)]);
  await Publish.notices(app, [noticeSent('n-ev', [it], t0), noticeSent('n-open', [open], t0)]);
  await waitForCase(app, it.caseId, (c) => c.status === CaseStatus.OPEN && c.hashes.length === 1, 'case open');
  await waitForCase(app, open.caseId, (c) => c.status === CaseStatus.OPEN && c.hashes.length === 1, 'second case open');
  clock.advance(DAY + H);
  await waitForCase(app, it.caseId, (c) => c.stepIndex === 0, 're-notice');
  clock.advance(2 * H);
  const removed = await app.inject({ method: 'POST', url: '/v1/notices/n-ev/removal', headers: bearer(acme), payload: {} });
  assert.equal(removed.statusCode, 200);

  const res = await app.inject({ url: `/v1/cases/${it.caseId}/evidence`, headers: bearer(hotline) });
  assert.equal(res.statusCode, 200);
  const head = res.headers['x-evidence-head'] as string;
  const count = Number(res.headers['x-evidence-count']);
  const text = res.body;
  const entries = text.trim().split('\n').map((l) => JSON.parse(l) as EvidenceEntry);
  assert.equal(entries.length, count);
  assert.deepEqual(verify(text, { expectedHead: head, expectedCount: count }), { ok: true, entries: count, head: { seq: count, hash: head }, redactedValues: 0 });
  const kinds = entries.map((e) => e.kind);
  for (const k of ['case.opened', 'report.matched', 'notice.sent', 'clock.started', 'deadline.missed', 'escalation.issued', 'removal.confirmed', 'case.closed']) assert.ok(kinds.includes(k), k);

  await t.test('a changed deadline in the notice entry is caught and named', () => {
    const i = kinds.indexOf('notice.sent');
    const forged = entries.slice();
    forged[i] = { ...entries[i]!, data: { ...(entries[i]!.data as Record<string, unknown>), deadlineAt: new Date(t0.getTime() + 3 * DAY).toISOString() } };
    const r = verify(toNdjson(forged));
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual([r.problem, r.seq], [VerifyProblem.ALTERED, entries[i]!.seq]);
  });

  await t.test('a forger who recomputes the hash is caught at the next link', () => {
    const i = kinds.indexOf('removal.confirmed');
    const forged = entries.slice();
    const data = { ...(entries[i]!.data as Record<string, unknown>), removedAt: t0.toISOString() };
    const e = { ...entries[i]!, data };
    forged[i] = { ...e, hash: entryHash(e) };
    const r = verify(toNdjson(forged));
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual([r.problem, r.seq], [VerifyProblem.ALTERED, entries[i]!.seq]);
  });

  await t.test('a removed entry, and a cut-off end against the exported head, are named as missing', () => {
    const i = kinds.indexOf('deadline.missed');
    const r = verify(toNdjson(entries.filter((_, j) => j !== i)));
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual([r.problem, r.seq], [VerifyProblem.MISSING, entries[i]!.seq]);
    const cut = verify(toNdjson(entries.slice(0, -2)), { expectedHead: head });
    assert.equal(cut.ok, false);
    if (!cut.ok) assert.deepEqual([cut.problem, cut.seq], [VerifyProblem.MISSING, count - 1]);
  });

  await t.test('retention anonymises URLs, hosts and IPs of old closed cases; the chain still verifies and the statistics stay', async () => {
    const statsBefore = await waitFor(async () => {
      const r = (await app.inject({ url: '/v1/monitor/providers', headers: bearer(hotline) })).json() as { providers: Array<{ providerId: string; removed: number; medianSeconds: number }> };
      const row = r.providers.find((p) => p.providerId === 'acme-hosting');
      return row && row.removed === 1 ? row : undefined;
    }, { what: 'monitor has the removal' });

    const early = await app.inject({ method: 'POST', url: '/v1/admin/retention/run', headers: bearer(env.adminKey) });
    assert.equal((early.json() as { anonymised: number }).anonymised, 0, 'nothing is old enough yet');
    clock.advance(31 * DAY);
    const run = await app.inject({ method: 'POST', url: '/v1/admin/retention/run', headers: bearer(env.adminKey) });
    assert.equal(run.statusCode, 200, run.body);
    assert.equal((run.json() as { anonymised: number }).anonymised, 1, 'only the closed case');

    const after = await app.inject({ url: `/v1/cases/${it.caseId}/evidence`, headers: bearer(hotline) });
    const r = verify(after.body, { expectedHead: head });
    assert.equal(r.ok, true, JSON.stringify(r));
    if (r.ok) assert.ok(r.redactedValues >= 4, `${r.redactedValues} values anonymised`);
    for (const secret of [it.url, new URL(it.url).host, '192.0.2.10', 'abuse@acme-hosting.example']) assert.ok(!after.body.includes(secret), `no ${secret} left`);
    assert.equal(after.headers['x-evidence-head'], head, 'the head is unchanged');

    const view = (await app.inject({ url: `/v1/cases/${it.caseId}`, headers: bearer(hotline) })).json() as { url: string | null; host: string | null; ip: string | null; timeToRemovalSeconds: number };
    assert.deepEqual([view.url, view.host, view.ip], [null, null, null]);
    assert.equal(view.timeToRemovalSeconds, 27 * 3600);
    const stillOpen = (await app.inject({ url: `/v1/cases/${open.caseId}`, headers: bearer(hotline) })).json() as { url: string | null };
    assert.equal(stillOpen.url, open.url, 'open cases keep their data');

    const statsAfter = (await app.inject({ url: '/v1/monitor/providers', headers: bearer(hotline) })).json() as { providers: Array<{ providerId: string; removed: number; medianSeconds: number }> };
    const row = statsAfter.providers.find((p) => p.providerId === 'acme-hosting');
    assert.deepEqual([row?.removed, row?.medianSeconds], [statsBefore.removed, statsBefore.medianSeconds]);
    const again = await app.inject({ method: 'POST', url: '/v1/admin/retention/run', headers: bearer(env.adminKey) });
    assert.equal((again.json() as { anonymised: number }).anonymised, 0, 'a second run has nothing to do');
  });
});
