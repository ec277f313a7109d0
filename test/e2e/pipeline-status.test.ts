import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CasesClosed, createEvent, EnforcementEscalated, NoticesSent, ReportsMatched, Topics, type ReportsAcceptedData } from '@hashcheck/events';
import { createKafka, EventProducer } from '@hashcheck/kafka';
import { codec } from '@hashcheck/runtime';
import { infra, waitFor } from '@hashcheck/testing';
import { bootIntake, HOTLINE_KEY, isolation } from './pipeline-harness';

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';

interface Status {
  status: string;
  caseId: string;
  pipeline: { check: { state: string }; notices: unknown[]; case: { state: string; outcome?: string; escalations: unknown[] } };
}

test('intake follows a report downstream (matched, notice, escalation, closed), and a closed case makes room for a new one', async (t) => {
  const env = infra(t);
  if (!env) return;
  const iso = isolation();
  const { app } = await bootIntake(env, iso);
  t.after(() => app.close());
  const producer = new EventProducer(createKafka({ brokers: env.brokers, clientId: 'e2e-downstream' }), codec, iso.prefix);
  await producer.connect();
  t.after(() => producer.disconnect());
  const auth = { authorization: `Bearer ${HOTLINE_KEY}` };
  const post = async (reportId: string) => {
    const r = await app.inject({ method: 'POST', url: '/v1/reports', headers: auth, payload: { reportId, url: 'https://files.example/x.jpg', hashes: { md5: MD5 } } });
    assert.ok(r.statusCode === 202 || r.statusCode === 200, r.body);
    return r.json<{ status: string; caseId: string }>();
  };
  const status = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/reports/${id}`, headers: auth })).json<Status>();

  const first = await post('h:1');
  const joined = await post('h:2');
  assert.equal(joined.caseId, first.caseId, 'same content, same URL, case open: joins it');
  const s1 = await status('h:1');
  const accepted = { ...(s1 as unknown as ReportsAcceptedData) };

  // What the other services would publish, in an order that is not the natural one.
  const data = { reportId: 'h:1', source: 'hotline', channel: 'http' as const, url: 'https://files.example/x.jpg', host: 'files.example', providerId: null, providerResolved: false, hashes: { md5: MD5 }, receivedAt: new Date().toISOString(), caseKey: accepted.caseKey, caseId: first.caseId };
  await producer.publish(Topics.enforcementEscalated, [createEvent(EnforcementEscalated, { subject: first.caseId, source: 'enforcement', data: { caseId: first.caseId, providerId: 'p1', step: 'renotice', stepIndex: 0 } })]);
  await producer.publish(Topics.reportsMatched, [createEvent(ReportsMatched, { subject: 'h:1', source: 'hash-check', data: { ...data, matches: [{ listId: 'l1', listName: 'List', category: 'csam-a', hashType: 'md5', distance: 0 }], checkedAt: new Date().toISOString() } })]);
  const sent = createEvent(NoticesSent, { subject: 'p1', source: 'notification', data: { noticeId: 'n1', providerId: 'p1', contact: 'abuse@p1.example', channel: 'email', items: [{ reportId: 'h:1', caseKey: accepted.caseKey, caseId: first.caseId, url: data.url, deadlineAt: new Date(Date.now() + 86_400_000).toISOString() }], sentAt: new Date().toISOString(), deliveryProof: { channel: 'email', status: 'accepted', payloadSha256: 'a'.repeat(64) } } });
  await producer.publish(Topics.noticesSent, [sent, sent]);
  const escalated = await waitFor(async () => {
    const s = await status('h:1');
    return s.pipeline.case.state === 'escalated' && s.pipeline.check.state === 'matched' && s.pipeline.notices.length === 1 ? s : undefined;
  }, { what: 'matched, notified, escalated' });
  assert.equal(escalated.pipeline.notices.length, 1, 'a redelivered notices.sent is recorded once');

  await producer.publish(Topics.casesClosed, [createEvent(CasesClosed, { subject: first.caseId, source: 'enforcement', data: { caseId: first.caseId, providerId: 'p1', outcome: 'removed', timeToRemovalSeconds: 3600, withinDeadline: true } })]);
  await waitFor(async () => ((await status('h:2')).pipeline.case.state === 'closed' ? true : undefined), { what: 'case closed on every report of the case' });
  const closed = await status('h:1');
  assert.equal(closed.pipeline.case.outcome, 'removed');

  // The same content at the same URL again: a new case. Re-sending an old report opens nothing.
  assert.equal((await post('h:1')).status, 'duplicate');
  const again = await post('h:3');
  assert.equal(again.caseId, `${accepted.caseKey}.2`);
  assert.equal((await post('h:2')).caseId, first.caseId, 'an old report keeps its case');
  assert.equal((await post('h:4')).caseId, again.caseId, 'and later reports join the new open case');
});
