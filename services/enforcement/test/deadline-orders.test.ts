import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { bearer, DAY, dropDatabaseAfter, H, issueKey, item, newEnv, noticeSent, Publish, startInstance, waitForCase } from './helpers';

test('a regulator order binds the notices sent while it was in force, however late they are consumed', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const at = (h: number, m = 0) => new Date(Date.UTC(2025, 2, 3, h, m));
  const clock = new ManualClock(at(8).getTime());
  const app = await startInstance(t, env, clock);
  const officer = await issueKey(app, env, { scope: 'regulator', label: 'officer-7' });
  const order = async (reference: string, providerId: string, validFrom: Date, validUntil?: Date) => {
    const res = await app.inject({
      method: 'PUT', url: `/v1/regulator/orders/${reference}`, headers: bearer(officer),
      payload: { providerId, deadline: '1h', validFrom: validFrom.toISOString(), ...(validUntil ? { validUntil: validUntil.toISOString() } : {}) },
    });
    assert.equal(res.statusCode, 200, res.body);
  };
  // An order in force until 10:00 for one provider; one in force from 10:00 for another.
  await order('ACM-2025-21', 'ended-order', at(8), at(10));
  await order('ACM-2025-22', 'later-order', at(10));

  // Both notices went out at 09:30 with 24 h; a backlog means enforcement reads them at 10:05.
  const ended = item('sent-under-order', 'ended-order');
  const later = item('sent-before-order', 'later-order');
  const sentAt = at(9, 30);
  clock.set(at(10, 5).getTime());
  await Publish.notices(app, [noticeSent('n-ended', [ended], sentAt), noticeSent('n-later', [later], sentAt)]);
  const a = await waitForCase(app, ended.caseId, (c) => c.status === CaseStatus.OPEN, 'case under the ended order open');
  const b = await waitForCase(app, later.caseId, (c) => c.status === CaseStatus.OPEN, 'case before the later order open');

  assert.equal(a.deadlineAt!.getTime() - sentAt.getTime(), H, 'the order in force at 09:30 binds: 1 h, not 24 h');
  assert.equal(b.deadlineAt!.getTime() - sentAt.getTime(), DAY, 'an order that began after the notice does not: 24 h, not 1 h');
  const started = (await app.enforcement.cases.evidence(ended.caseId))!.entries.find((e) => e.kind === 'clock.started')!.data as { decidedBy: string; policy: { reference: string | null } };
  assert.deepEqual({ decidedBy: started.decidedBy, reference: started.policy.reference }, { decidedBy: 'order', reference: 'ACM-2025-21' });
  assert.equal(a.dueAt!.getTime(), sentAt.getTime() + H, 'the timer is set to the 1 h deadline');
});
