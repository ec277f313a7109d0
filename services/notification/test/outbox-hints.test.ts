/**
 * Every write with events hints the outbox relay (`notify({ collection, id, entries })`) instead of
 * asking for a sweep: on FerretDB a sweep reads and decodes every step document. The relay's
 * periodic sweep is set 10 minutes away, so an event that goes out came through a hint; a pending
 * entry nobody hinted (the "leftover") shows that no sweep ran. A notify() without a hint makes
 * the relay sweep everything, and that sweep would take the leftover in the same pass (and the
 * same update) as the write's own entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createEvent, NoticesFailed, NoticesRequested, Topics } from '@hashcheck/events';
import { outboxEntry } from '@hashcheck/mongo';
import { infra, waitFor } from '@hashcheck/testing';
import { Collections, type StepDocument } from '../src/store/collections';
import { matchedEvent, providerEvent, startReceiver } from './helpers';
import { bootNotification, FAST, publishProviders } from './setup';

test('notification writers hint the relay: their events go out without any sweep of notice_steps', async (t) => {
  const env = infra(t);
  if (!env) return;
  const receiver = await startReceiver('secret-h');
  t.after(() => receiver.close());
  const h = await bootNotification(t, env, { ...FAST, OUTBOX_POLL_MS: '600000', WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1' });
  t.after(async () => {
    await h.app.mongo.db.dropDatabase().catch(() => undefined);
    await h.app.close();
  });
  await publishProviders(h, [providerEvent({ id: 'prov-h', webhook: { url: receiver.url }, abuseContacts: ['abuse@prov-h.example'] }, 'secret-h')]);
  const steps = h.app.mongo.db.collection<StepDocument>(Collections.STEPS);

  // A pending entry no writer hinted, written after the relay's start-up sweep (which takes every
  // pending entry): only a sweep asked for by notify() without a hint publishes it.
  await h.app.outbox.swept;
  const leftoverEvent = createEvent(NoticesFailed, {
    subject: 'prov-h',
    source: 'notification',
    data: { noticeId: `leftover-${randomUUID()}`, providerId: 'prov-h', channel: 'email', reason: 'test leftover', final: true, undeliverable: true, failedAt: new Date().toISOString() },
  });
  const leftoverId = `${leftoverEvent.data.noticeId}#1`;
  await steps.insertOne({ _id: leftoverId, noticeId: leftoverEvent.data.noticeId, seq: 1, at: new Date(), failures: [], set: {}, outbox: [outboxEntry(Topics.noticesFailed, leftoverEvent)] });
  const leftoverPending = async (): Promise<number> => (await steps.findOne({ _id: leftoverId }))?.outbox?.length ?? 0;
  const leftoverPublished = (): boolean => h.failed().some((e) => e.id === leftoverEvent.id);
  /** Steps of a notice whose entries the relay has not removed yet. */
  const pendingOf = async (noticeId: string): Promise<number> => (await steps.find({ noticeId }).toArray()).reduce((n, s) => n + (s.outbox?.length ?? 0), 0);

  await t.test('a sent notice (the sender\'s step) reaches notices.sent through its hint', async () => {
    await h.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-h', `hint-${randomUUID()}`)]);
    const sent = await waitFor(() => h.sent().find((e) => e.data.providerId === 'prov-h'), { timeoutMs: 60_000, what: 'notices.sent for prov-h (only a hint can publish it)' });
    // The relay removes published entries right after the send, in the update that would also
    // have removed the leftover's had a sweep found both.
    await waitFor(async () => (await pendingOf(sent.data.noticeId)) === 0, { timeoutMs: 30_000, what: 'the sent step\'s entries removed' });
    assert.equal(await leftoverPending(), 1, 'the unhinted entry is still pending: no sweep ran');
    assert.equal(leftoverPublished(), false);
  });

  await t.test('a re-notice naming an unknown case (the inbox\'s step) reaches notices.failed through its hint', async () => {
    const request = createEvent(NoticesRequested, {
      subject: 'prov-h',
      source: 'enforcement',
      data: { requestId: `req-${randomUUID()}`, providerId: 'prov-h', caseIds: ['never-seen.1'], reason: 'deadline-passed', attempt: 2, deadlineAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    await h.app.kafka.producer.publish(Topics.noticesRequested, [request]);
    const failed = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-h' && e.data.undeliverable === true && e.id !== leftoverEvent.id), { timeoutMs: 60_000, what: 'notices.failed for the unknown case (only a hint can publish it)' });
    assert.match(failed.data.reason, /never-seen\.1/);
    await waitFor(async () => (await pendingOf(failed.data.noticeId)) === 0, { timeoutMs: 30_000, what: 'the inbox step\'s entries removed' });
    assert.equal(await leftoverPending(), 1, 'the unhinted entry is still pending: no sweep ran');
    assert.equal(leftoverPublished(), false);
  });

  await t.test('the leftover was publishable: a notify() without a hint sweeps it out', async () => {
    h.app.outbox.notify();
    await waitFor(() => leftoverPublished() || undefined, { timeoutMs: 30_000, what: 'the leftover published by the sweep' });
    await waitFor(async () => (await leftoverPending()) === 0, { timeoutMs: 30_000, what: 'the leftover removed after publishing' });
  });
});
