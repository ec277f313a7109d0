/**
 * A list change queues its hashes.changes event in the list's own document and hints the outbox
 * relay with that document. Without the hint the relay swept every outbox collection of the
 * service, report_checks included (on FerretDB: every check ever stored, read and decoded). The
 * periodic sweep is 10 minutes away here, and a pending entry nobody hinted (the leftover) stays
 * pending: only a hint can have published the change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEvent, ReportsUnmatched, Topics } from '@hashcheck/events';
import { outboxEntry } from '@hashcheck/mongo';
import { infra, TopicRecorder, waitFor } from '@hashcheck/testing';
import { Collections } from '../src/store/collections';
import { ADMIN_KEY, bearer, freshEnv, hex, startApp } from './helpers';

test('list changes hint the relay with the list: hashes.changes goes out without a sweep', async (t) => {
  const env = infra(t);
  if (!env) return;
  const e = freshEnv();
  const app = await startApp(t, env, e, { OUTBOX_POLL_MS: '600000' });
  const recorder = await new TopicRecorder(env.brokers).start([Topics.hashesChanges, Topics.reportsUnmatched].map((x) => e.prefix + x));
  t.after(() => recorder.stop());
  const admin = bearer(ADMIN_KEY);
  const db = app.mongo.db;

  await app.outbox.swept;
  const leftover = createEvent(ReportsUnmatched, {
    subject: 'leftover',
    source: 'hash-check',
    data: {
      reportId: 'leftover', source: 'hotline-nl', channel: 'http', url: 'https://files.example.org/x.jpg', host: 'files.example.org', providerId: 'example-hosting',
      providerResolved: true, hashes: { md5: hex(16) }, receivedAt: new Date().toISOString(), caseKey: hex(32), caseId: `${hex(32)}.1`, checkedAt: new Date().toISOString(),
    },
  });
  await db.collection<{ _id: string; outbox: unknown[] }>(Collections.REPORT_CHECKS).insertOne({ _id: 'leftover', outbox: [outboxEntry(Topics.reportsUnmatched, leftover)] });
  const leftoverPending = async (): Promise<number> => ((await db.collection<{ _id: string; outbox?: unknown[] }>(Collections.REPORT_CHECKS).findOne({ _id: 'leftover' }))?.outbox ?? []).length;
  const changes = () => recorder.on(e.prefix + Topics.hashesChanges).map((m) => m.json<{ subject: string; data: { kind: string } }>());

  await t.test('creating a list and adding hashes announce both, through hints', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'hinted', name: 'Hinted', source: 'hotline', category: 'csam-a', owner: 'Hotline' } })).statusCode, 201);
    const r = await app.inject({ method: 'POST', url: '/v1/lists/hinted/changes', headers: admin, payload: { add: [{ type: 'md5', hash: hex(16) }] } });
    assert.equal(r.statusCode, 200, r.body);
    await waitFor(() => changes().filter((c) => c.subject === 'hinted').length >= 2 || undefined, { timeoutMs: 30_000, what: 'both hashes.changes events (only a hint can publish them)' });
    await waitFor(async () => ((await db.collection<{ _id: string; outbox?: unknown[] }>(Collections.LISTS).findOne({ _id: 'hinted' }))?.outbox ?? []).length === 0 || undefined, { timeoutMs: 30_000, what: 'the list\'s entries removed' });
    assert.equal(await leftoverPending(), 1, 'the unhinted entry is still pending: no sweep ran');
    assert.equal(recorder.on(e.prefix + Topics.reportsUnmatched).length, 0);
  });

  await t.test('the leftover was publishable: a notify() without a hint sweeps it out', async () => {
    app.outbox.notify();
    await recorder.waitForCount(e.prefix + Topics.reportsUnmatched, 1, 30_000);
    await waitFor(async () => (await leftoverPending()) === 0 || undefined, { timeoutMs: 30_000, what: 'the leftover removed after publishing' });
  });
});
