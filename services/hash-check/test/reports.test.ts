import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEvent, ReportsAccepted, HashesRetractionRequested, Topics, type ReportsAcceptedData } from '@hashcheck/events';
import { infra, TopicRecorder, waitFor } from '@hashcheck/testing';
import { ADMIN_KEY, bearer, flipBits, freshEnv, hex, startApp } from './helpers';

function accepted(reportId: string, hashes: ReportsAcceptedData['hashes']): ReportsAcceptedData {
  return {
    reportId,
    source: 'hotline-nl',
    channel: 'http',
    url: `https://files.example.org/${reportId}.jpg`,
    host: 'files.example.org',
    providerId: 'example-hosting',
    providerResolved: true,
    hashes,
    receivedAt: new Date().toISOString(),
    caseKey: hex(32),
    caseId: `${hex(32)}.1`,
  };
}

test('accepted reports are matched (exact and PDQ) and emitted as matched / unmatched, once; retraction requests are reviewed', async (t) => {
  const env = infra(t);
  if (!env) return;
  const e = freshEnv();
  const app = await startApp(t, env, e);
  const admin = bearer(ADMIN_KEY);
  const recorder = await new TopicRecorder(env.brokers).start([Topics.reportsMatched, Topics.reportsUnmatched, Topics.hashesChanges].map((x) => e.prefix + x));
  t.after(() => recorder.stop());

  await app.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'hotline-list', name: 'Hotline list', source: 'hotline', category: 'csam-a', owner: 'Hotline', threshold: 31 } });
  const sha1 = hex(20);
  const pdq = hex(32);
  const r = await app.inject({ method: 'POST', url: '/v1/lists/hotline-list/changes', headers: admin, payload: { add: [{ type: 'sha1', hash: sha1, series: 'series-1' }, { type: 'pdq', hash: pdq, category: 'csam-b' }] } });
  assert.equal(r.statusCode, 200, r.body);

  const producer = app.kafka.producer;
  const matchedEvent = createEvent(ReportsAccepted, { subject: 'rep-1', source: 'intake', data: accepted('rep-1', { sha1, pdq: flipBits(pdq, 12) }) });
  const unmatchedEvent = createEvent(ReportsAccepted, { subject: 'rep-2', source: 'intake', data: accepted('rep-2', { md5: hex(16) }) });
  await producer.publish(Topics.reportsAccepted, [matchedEvent, unmatchedEvent]);
  await producer.publish(Topics.reportsAccepted, [matchedEvent]); // a redelivery

  const [matched] = await recorder.waitForCount(e.prefix + Topics.reportsMatched, 1);
  const [unmatched] = await recorder.waitForCount(e.prefix + Topics.reportsUnmatched, 1);
  const m = matched?.json<{ type: string; subject: string; data: { reportId: string; matches: unknown[]; caseId: string } }>();
  assert.equal(m?.type, 'reports.matched');
  assert.equal(m?.subject, 'rep-1');
  assert.deepEqual(
    (m?.data.matches as { hashType: string }[]).sort((x, y) => x.hashType.localeCompare(y.hashType)),
    [
      { listId: 'hotline-list', listName: 'Hotline list', category: 'csam-b', hashType: 'pdq', distance: 12 },
      { listId: 'hotline-list', listName: 'Hotline list', category: 'csam-a', hashType: 'sha1', distance: 0, seriesId: 'series-1' },
    ],
  );
  assert.equal(unmatched?.json<{ subject: string }>().subject, 'rep-2');
  // The redelivered event produced nothing new.
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal(recorder.on(e.prefix + Topics.reportsMatched).length, 1);
  // Its matches were audited once (one record per hash type and list), and no event waits.
  const audit = await app.mongo.db.collection('audit_matches').find({ tenantId: 'report-pipeline' }).toArray();
  assert.deepEqual(audit.map((x) => `${x.hashType}:${x.listId}:${x.count}`).sort(), ['pdq:hotline-list:1', 'sha1:hotline-list:1']);
  assert.equal(await app.mongo.db.collection('outbox_pending').countDocuments({}), 0, 'no outbox mark left');
  // Every list change was announced on the compacted topic, keyed by list id, without hashes.
  const changes = recorder.on(e.prefix + Topics.hashesChanges);
  assert.ok(changes.length >= 2);
  assert.ok(changes.every((c) => c.key === 'hotline-list' && !(c.value?.toString() ?? '').includes(sha1)));

  // Enforcement upholds a dispute: the hotline approves, the hash is retracted.
  const request = createEvent(HashesRetractionRequested, { subject: m?.data.caseId ?? 'x', source: 'enforcement', data: { requestId: 'req-1', caseId: m?.data.caseId as string, reason: 'false positive' } });
  await producer.publish(Topics.hashesRetractionRequested, [request]);
  const pending = await waitFor(async () => {
    const list = (await app.inject({ method: 'GET', url: '/v1/retraction-requests?status=pending', headers: admin })).json().requests as { requestId: string }[];
    return list.length > 0 ? list : undefined;
  }, { what: 'the retraction request' });
  assert.equal(pending[0]?.requestId, 'req-1');
  const decided = await app.inject({ method: 'POST', url: '/v1/retraction-requests/req-1/decision', headers: admin, payload: { decision: 'approve', note: 'checked' } });
  assert.equal(decided.statusCode, 200, decided.body);
  assert.equal(decided.json().status, 'approved');
  assert.equal(decided.json().releases.length, 1);
  const check = await app.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'sha1', hash: sha1 }, { type: 'pdq', hash: pdq }] } });
  assert.deepEqual(check.json().results.map((x: { match: boolean }) => x.match), [false, true], 'the exact match was retracted; the PDQ entry (a near match) stays');
  assert.equal((await app.inject({ method: 'POST', url: '/v1/retraction-requests/req-1/decision', headers: admin, payload: { decision: 'reject' } })).statusCode, 409);

  // A request decided once cannot be decided again, and a rejected one retracts nothing.
  const kept = hex(16);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/lists/hotline-list/changes', headers: admin, payload: { add: [{ type: 'md5', hash: kept }] } })).statusCode, 200);
  const second = createEvent(HashesRetractionRequested, { subject: `md5:${kept}`, source: 'enforcement', data: { requestId: 'req-2', hashType: 'md5', hash: kept, reason: 'false positive' } });
  await producer.publish(Topics.hashesRetractionRequested, [second]);
  await waitFor(async () => ((await app.inject({ method: 'GET', url: '/v1/retraction-requests?status=pending', headers: admin })).json().requests as unknown[]).length > 0 || undefined, { what: 'the second request' });
  const revision = (await app.inject({ method: 'GET', url: '/v1/lists/hotline-list', headers: admin })).json().revision as number;
  assert.equal((await app.inject({ method: 'POST', url: '/v1/retraction-requests/req-2/decision', headers: admin, payload: { decision: 'reject' } })).statusCode, 200);
  const late = await app.inject({ method: 'POST', url: '/v1/retraction-requests/req-2/decision', headers: admin, payload: { decision: 'approve' } });
  assert.equal(late.statusCode, 409, late.body);
  const stillThere = await app.inject({ method: 'POST', url: '/v1/check', headers: admin, payload: { items: [{ type: 'md5', hash: kept }] } });
  assert.equal(stillThere.json().results[0].match, true, 'approving a rejected request retracted the hash');
  assert.equal((await app.inject({ method: 'GET', url: '/v1/lists/hotline-list', headers: admin })).json().revision, revision, 'and wrote no release');
});
