import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { ManualClock } from '@hashcheck/enforcement';
import { bearer, DAY, dropDatabaseAfter, H, item, newEnv, publish, removalReported, startInstance } from './helpers';

test('retention deletes removal reports kept for cases never seen once they are older than RETENTION_AFTER', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock, { RETENTION_AFTER: '30d' });
  const parked = app.enforcement.cases.parked;
  const keep = async (name: string): Promise<void> => {
    const it = item(name);
    await publish(app, Topics.removalsReported, [removalReported({ reportId: it.reportId, url: it.url, observedAt: clock.now().toISOString(), status: 'removed', reporter: 'recheck-partner' })]);
    await waitFor(async () => ((await parked.countDocuments({ 'report.reportId': it.reportId })) === 1 ? true : undefined), { what: `the report for ${name} kept` });
  };
  const run = async (): Promise<{ anonymised: number; parkedRemoved: number }> => {
    const res = await app.inject({ method: 'POST', url: '/v1/admin/retention/run', headers: bearer(env.adminKey) });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { anonymised: number; parkedRemoved: number };
  };

  await keep('never-seen-old');
  assert.equal((await run()).parkedRemoved, 0, 'nothing is old enough yet');
  clock.advance(30 * DAY + H);
  await keep('never-seen-fresh');
  const r = await run();
  assert.equal(await parked.countDocuments({ 'report.reportId': item('never-seen-old').reportId }), 0, 'the old report and its URL are gone');
  assert.equal(await parked.countDocuments({ 'report.reportId': item('never-seen-fresh').reportId }), 1, 'a report younger than the retention period stays');
  assert.equal(r.parkedRemoved, 1);
  assert.equal((await run()).parkedRemoved, 0, 'a second run has nothing to do');
});
