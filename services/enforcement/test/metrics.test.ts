import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import { Attr, Metric } from '@hashcheck/telemetry';
import { MetricsProbe } from '@hashcheck/telemetry/metrics-testing';
import { infra, waitFor } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { DAY, dropDatabaseAfter, H, item, matched, newEnv, noticeSent, publish, Publish, removalReported, startInstance, waitForCase } from './helpers';

// The real metrics SDK as the global provider, before the app is built.
const probe = MetricsProbe.install();

test('enforcement metrics: deadlines met and missed, escalations per step, closings, open cases and overdue timers', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  t.after(() => probe.shutdown());
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 4, 5, 9));
  // Recount open cases at every collection, so the test sees each change at the next one.
  const app = await startInstance(t, env, clock, { METRICS_REFRESH_MS: '0' });
  const t0 = clock.now();
  const met = item('metrics-met');
  const missed = item('metrics-missed');
  const waiting = item('metrics-pending');
  await Publish.matched(app, [matched(met, t0), matched(missed, t0), matched(waiting, t0)]);
  await Publish.notices(app, [noticeSent('n-met', [met], t0), noticeSent('n-missed', [missed], t0)]);
  await waitForCase(app, met.caseId, (c) => c.status === CaseStatus.OPEN, 'clock started for the met case');
  await waitForCase(app, missed.caseId, (c) => c.status === CaseStatus.OPEN, 'clock started for the missed case');
  await waitForCase(app, waiting.caseId, (c) => c.status === CaseStatus.PENDING, 'a case without a notice stays pending');

  const openCount = (status: string) => probe.value(Metric.CASES_OPEN, { [Attr.CASE_STATUS]: status });

  await t.test('open cases per status come from a count of the cases', async () => {
    await waitFor(async () => (await openCount(CaseStatus.OPEN)) === 2 && (await openCount(CaseStatus.PENDING)) === 1, { what: 'open = 2, pending = 1' });
    assert.equal(await openCount(CaseStatus.DISPUTED), 0);
    assert.equal((await probe.descriptor(Metric.CASES_OPEN))?.unit, '{case}');
  });

  await t.test('content removed before the deadline: met 1, closed{removed} 1, and one case fewer open', async () => {
    clock.advance(2 * H);
    await publish(app, Topics.removalsReported, [removalReported({ caseId: met.caseId, observedAt: clock.now().toISOString(), status: 'removed', reporter: 'recheck-partner' })]);
    await waitForCase(app, met.caseId, (c) => c.status === CaseStatus.CLOSED, 'met case closed');
    // Counted once the store's apply returns (after the view is refreshed): a moment after the
    // record is readable, so wait for it rather than read it at once.
    await waitFor(async () => (await probe.value(Metric.CASE_DEADLINES, { [Attr.STEP]: 'notice', [Attr.OUTCOME]: 'met' })) === 1, { what: 'deadlines{notice, met} = 1' });
    assert.equal(await probe.value(Metric.CASE_DEADLINES, { [Attr.OUTCOME]: 'missed' }), 0);
    assert.equal(await probe.value(Metric.CASES_CLOSED, { [Attr.OUTCOME]: 'removed' }), 1);
    await waitFor(async () => (await openCount(CaseStatus.OPEN)) === 1, { what: 'open = 1 after the closing' });
  });

  await t.test('a deadline that passes: missed 1 on the notice, the re-notice step issued 1, nothing overdue once fired', async () => {
    clock.set(t0.getTime() + DAY + 1000);
    await waitForCase(app, missed.caseId, (c) => c.stepIndex === 0, 're-notice issued');
    await waitFor(async () => (await probe.value(Metric.CASE_DEADLINES, { [Attr.STEP]: 'notice', [Attr.OUTCOME]: 'missed' })) === 1, { what: 'deadlines{notice, missed} = 1' });
    assert.equal(await probe.value(Metric.CASE_DEADLINES, { [Attr.OUTCOME]: 'met' }), 1, 'still only the first case');
    assert.equal(await probe.value(Metric.CASE_ESCALATIONS, { [Attr.STEP]: 'renotice', [Attr.OUTCOME]: 'issued' }), 1);
    assert.equal(await probe.value(Metric.CASE_ESCALATIONS), 1);
    await waitFor(async () => (await probe.points(Metric.TIMERS_OVERDUE)).length === 1 && (await probe.value(Metric.TIMERS_OVERDUE)) === 0, { what: 'no timer overdue' });
    // A timer poll with nothing due changes no case, so counts nothing.
    await app.enforcementTimers.poke();
    assert.equal(await probe.value(Metric.CASE_DEADLINES), 2);
  });
});
