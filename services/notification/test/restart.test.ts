import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { matchedEvent, providerEvent, startReceiver } from './helpers';
import { bootNotification, FAST, publishProviders, sleep } from './setup';

test('a restart loses nothing: an item inside its window and a notice between retries are both delivered once by the next instance', async (t) => {
  const env = infra(t);
  if (!env) return;
  const steady = await startReceiver('secret-1');
  const flaky = await startReceiver('secret-2', (n) => (n <= 2 ? 503 : 202));
  t.after(async () => { await steady.close(); await flaky.close(); });
  const vars = { ...FAST, NOTICE_WINDOW_MS: '3000', WEBHOOK_BACKOFF_BASE_MS: '2000', WEBHOOK_BACKOFF_CAP_MS: '2000', WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1' };

  // First instance; its jitter is pinned high so the retry is still pending when it stops.
  const first = await bootNotification(t, env, vars, { random: () => 0.99 });
  let firstClosed = false;
  t.after(async () => { if (!firstClosed) await first.app.close(); });
  await publishProviders(first, [
    providerEvent({ id: 'prov-steady', webhook: { url: steady.url } }, 'secret-1'),
    providerEvent({ id: 'prov-flaky', webhook: { url: flaky.url } }, 'secret-2'),
  ]);
  await first.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-flaky', 'r2')]);
  await waitFor(() => (flaky.requests.length >= 1 ? true : undefined), { what: 'the first (failing) attempt' });
  await first.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-steady', 'r1')]);
  const items = first.app.mongo.db.collection('notice_items');
  await waitFor(async () => (await items.countDocuments({ providerId: 'prov-steady' })) === 1 || undefined, { what: 'the steady item stored' });
  await first.app.close();
  firstClosed = true;
  assert.equal(steady.requests.length, 0, 'stopped while the item was inside its window');
  assert.equal(flaky.requests.length, 1, 'stopped while the retry was pending');

  // Second instance on the same database and topics.
  const second = await bootNotification(t, env, vars, { prefix: first.prefix, database: first.database });
  t.after(() => second.app.close());
  await waitFor(() => (steady.accepted().length >= 1 && flaky.accepted().length >= 1 ? true : undefined), { timeoutMs: 30_000, what: 'both notices after the restart' });
  await sleep(1500);
  assert.equal(steady.requests.length, 1);
  assert.equal(flaky.requests.length, 3);
  assert.equal(flaky.accepted().length, 1);
  assert.equal(new Set(flaky.requests.map((r) => r.idempotencyKey)).size, 1, 'the same notice throughout');
  await waitFor(() => (second.sent().length >= 2 ? true : undefined), { what: 'notices.sent for both' });
  const sent = second.sent();
  assert.equal(sent.filter((e) => e.data.providerId === 'prov-steady').length, 1);
  assert.equal(sent.filter((e) => e.data.providerId === 'prov-flaky').length, 1);
  assert.equal(await second.app.mongo.db.collection('notices').countDocuments({}), 2);
});
