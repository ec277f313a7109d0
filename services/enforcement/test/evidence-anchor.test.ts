import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { verify, VerifyProblem, type ChainHead } from '@hashcheck/evidence';
import { Topics, type CasesClosedData, type EnforcementEscalatedData } from '@hashcheck/events';
import { infra } from '@hashcheck/testing';
import { CaseStatus, ManualClock } from '@hashcheck/enforcement';
import { bearer, DAY, dropDatabaseAfter, H, issueKey, item, matched, newEnv, noticeSent, Publish, record, startInstance, topicOf, waitForCase } from './helpers';

test('the evidence export is verified where it is served, and its head is anchored in the events and the case view', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>); done(); } });
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock, {}, pino({ level: 'error' }, sink));
  const rec = await record(t, env, [Topics.enforcementEscalated, Topics.casesClosed]);
  const hotline = await issueKey(app, env, { scope: 'hotline', label: 'analyst-3' });
  const acme = await issueKey(app, env, { scope: 'provider', providerId: 'acme-hosting', label: 'acme abuse desk' });
  const mongo = new MongoClient(env.infra.mongoUri, { retryWrites: false });
  await mongo.connect();
  t.after(() => mongo.close());
  const db = mongo.db(env.db);

  const it = item('anchored');
  const t0 = clock.now();
  await Publish.matched(app, [matched(it, t0)]);
  await Publish.notices(app, [noticeSent('n-anchor', [it], t0)]);
  await waitForCase(app, it.caseId, (c) => c.status === CaseStatus.OPEN && c.hashes.length === 1, 'case open');
  clock.advance(DAY + H);
  await waitForCase(app, it.caseId, (c) => c.stepIndex === 0, 're-notice');
  const [escalatedMsg] = await rec.waitForCount(topicOf(env, Topics.enforcementEscalated), 1);
  const escalated = escalatedMsg!.json<{ data: EnforcementEscalatedData }>().data;
  assert.ok(escalated.evidenceHead, 'enforcement.escalated carries the evidence head');

  const exportOf = async () => app.inject({ url: `/v1/cases/${it.caseId}/evidence`, headers: bearer(hotline) });
  const atEscalation = await exportOf();
  assert.equal(atEscalation.statusCode, 200, atEscalation.body);
  const escalationEntry = atEscalation.body.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; kind: string; hash: string }).find((e) => e.seq === escalated.evidenceHead!.seq);
  assert.equal(escalationEntry?.kind, 'escalation.issued', 'the event names the head after its own record (the escalation entry)');
  assert.equal(escalationEntry?.hash, escalated.evidenceHead!.hash);

  clock.advance(2 * H);
  const removed = await app.inject({ method: 'POST', url: '/v1/notices/n-anchor/removal', headers: bearer(acme), payload: {} });
  assert.equal(removed.statusCode, 200, removed.body);
  const [closedMsg] = await rec.waitForCount(topicOf(env, Topics.casesClosed), 1);
  const closed = closedMsg!.json<{ data: CasesClosedData }>().data;
  assert.ok(closed.evidenceHead, 'cases.closed carries the evidence head');

  // Intact: served, verifies, and its head is the one the last event and the case view hold.
  const intact = await exportOf();
  assert.equal(intact.statusCode, 200, intact.body);
  const head: ChainHead = { seq: Number(intact.headers['x-evidence-count']), hash: intact.headers['x-evidence-head'] as string };
  assert.deepEqual(closed.evidenceHead, head, 'the head in cases.closed is the export\'s head');
  assert.deepEqual(verify(intact.body, { expectedHead: closed.evidenceHead!.hash, expectedCount: closed.evidenceHead!.seq }), { ok: true, entries: head.seq, head, redactedValues: 0 });
  assert.equal(verify(intact.body, { expectedHead: escalated.evidenceHead!.hash }).ok, true, 'the escalation head is in the chain');
  const view = (await app.inject({ url: `/v1/cases/${it.caseId}`, headers: bearer(hotline) })).json() as { evidenceHead?: ChainHead | null };
  assert.deepEqual(view.evidenceHead, head, 'the staff case view shows the head');

  // Cut the log's end (the closing record, then the escalation's too) directly in the database.
  const log = db.collection<{ _id: string; caseId: string; seq: number; evidenceHead: ChainHead | null; state: Record<string, unknown> }>('case_log');
  const records = await log.find({ caseId: it.caseId }).sort({ seq: 1 }).toArray();
  const escalationRecord = records.findIndex((r) => r.evidenceHead?.hash === escalated.evidenceHead!.hash);
  assert.ok(escalationRecord > 0 && escalationRecord < records.length - 1, `the escalation record is neither first nor last (${escalationRecord} of ${records.length})`);
  const cutOff = records.slice(escalationRecord);
  await log.deleteMany({ _id: { $in: cutOff.map((r) => r._id) } });

  const refused = await exportOf();
  assert.equal(refused.statusCode, 500, 'a log cut at its end is not served');
  const err = (refused.json() as { error: { code: string; message: string; details: { caseId: string; reason: string } } }).error;
  assert.equal(err.code, 'HC_EVIDENCE_UNVERIFIED');
  assert.match(err.message, /failed verification/);
  assert.equal(err.details.caseId, it.caseId);
  const logged = logs.find((l) => l.msg === 'evidence file failed verification');
  assert.ok(logged, 'logged');
  assert.equal(logged.level, 50, 'at error level');
  assert.deepEqual([logged.caseId, logged.reason], [it.caseId, err.details.reason]);
  assert.match(String(logged.reason), /missing/);

  // Someone who also rewinds the view gets a consistent file served, but not against the anchors.
  const cases = db.collection<Record<string, unknown>>('cases');
  const viewBefore = await cases.findOne({ _id: it.caseId as unknown as never });
  const lastKept = records[escalationRecord - 1]!;
  await cases.replaceOne({ _id: it.caseId as unknown as never }, { ...lastKept.state, seq: lastKept.seq, evidenceHead: lastKept.evidenceHead });
  const rewound = await exportOf();
  assert.equal(rewound.statusCode, 200, 'consistent in itself');
  for (const anchor of [closed.evidenceHead!, escalated.evidenceHead!]) {
    const r = verify(rewound.body, { expectedHead: anchor.hash, expectedCount: anchor.seq });
    assert.equal(r.ok, false, 'the head published in the event proves the cut');
    if (!r.ok) assert.equal(r.problem, VerifyProblem.MISSING);
  }

  // Restored: served and verified again.
  await log.insertMany(cutOff);
  await cases.replaceOne({ _id: it.caseId as unknown as never }, viewBefore!);
  const restored = await exportOf();
  assert.equal(restored.statusCode, 200, restored.body);
  assert.equal(restored.body, intact.body);
  assert.equal(verify(restored.body, { expectedHead: closed.evidenceHead!.hash, expectedCount: closed.evidenceHead!.seq }).ok, true);
});
