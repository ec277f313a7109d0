import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import { Attr, Metric } from '@hashcheck/telemetry';
import { MetricsProbe } from '@hashcheck/telemetry/metrics-testing';
import { infra, waitFor } from '@hashcheck/testing';
import { matchedEvent, providerEvent, startReceiver, startSmtp } from './helpers';
import { bootNotification, FAST, publishProviders } from './setup';

// The real metrics SDK as the global provider, before the app is built.
const probe = MetricsProbe.install();

test('notification metrics: sent, retried, failed per channel; delivery latency and attempt duration', async (t) => {
  const env = infra(t);
  if (!env) return;
  t.after(() => probe.shutdown());
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  // A: fails once, then accepts. C: always fails, so after WEBHOOK_MAX_ATTEMPTS it falls back to e-mail.
  const rA = await startReceiver('secret-a', (n) => (n === 1 ? 503 : 202));
  const rC = await startReceiver('secret-c', () => 500);
  t.after(async () => { await rA.close(); await rC.close(); });

  const h = await bootNotification(t, env, { ...FAST, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1' });
  t.after(() => h.app.close());
  await publishProviders(h, [
    providerEvent({ id: 'prov-a', webhook: { url: rA.url }, abuseContacts: ['abuse@prov-a.example'] }, 'secret-a'),
    providerEvent({ id: 'prov-c', webhook: { url: rC.url }, abuseContacts: ['abuse@prov-c.example'] }, 'secret-c'),
    providerEvent({ id: 'prov-f', abuseContacts: ['reject@prov-f.example'] }),
  ]);
  const publish = (events: Parameters<typeof h.app.kafka.producer.publish>[1]) => h.app.kafka.producer.publish(Topics.reportsMatched, events);
  const webhook = { [Attr.CHANNEL]: 'webhook' };
  const email = { [Attr.CHANNEL]: 'email' };

  await t.test('a webhook that fails once then succeeds: retried 1, sent 1, two attempts timed, one delivery latency', async () => {
    await publish([matchedEvent('prov-a', 'a1')]);
    await waitFor(() => h.sent().find((e) => e.data.providerId === 'prov-a'), { timeoutMs: 60_000, what: 'notices.sent for prov-a' });
    await waitFor(async () => (await probe.value(Metric.NOTICES_SENT, webhook)) === 1, { what: 'sent{webhook} = 1' });
    assert.equal(rA.requests.length, 2);
    assert.equal(await probe.value(Metric.NOTICES_RETRIED, webhook), 1);
    assert.equal(await probe.value(Metric.NOTICES_SENT, { ...webhook, [Attr.NOTICE_KIND]: 'initial' }), 1);
    assert.equal(await probe.value(Metric.NOTICES_FAILED), 0, 'nothing given up');
    assert.equal(await probe.histogram(Metric.NOTICE_ATTEMPT_DURATION, { ...webhook, [Attr.OUTCOME]: 'failed' }).then((x) => x.count), 1);
    assert.equal(await probe.histogram(Metric.NOTICE_ATTEMPT_DURATION, { ...webhook, [Attr.OUTCOME]: 'delivered' }).then((x) => x.count), 1);
    const latency = await probe.histogram(Metric.NOTICE_DELIVERY_LATENCY, webhook);
    assert.equal(latency.count, 1);
    // Created when its window closed, delivered after one backoff: more than zero, far less than a minute.
    assert.ok(latency.sum > 0 && latency.sum < 60, `latency ${latency.sum} s`);
    assert.equal((await probe.descriptor(Metric.NOTICE_DELIVERY_LATENCY))?.unit, 's');
  });

  await t.test('a webhook failing past its limit: retried twice, failed once (fallback), then sent by e-mail', async () => {
    await publish([matchedEvent('prov-c', 'c1')]);
    await waitFor(() => h.sent().find((e) => e.data.providerId === 'prov-c'), { timeoutMs: 60_000, what: 'notices.sent for prov-c' });
    await waitFor(async () => (await probe.value(Metric.NOTICES_SENT, email)) === 1, { what: 'sent{email} = 1' });
    assert.equal(rC.requests.length, 3);
    assert.equal(await probe.value(Metric.NOTICES_RETRIED, webhook), 1 + 2, 'prov-a once, prov-c twice');
    assert.equal(await probe.value(Metric.NOTICES_FAILED, { ...webhook, [Attr.OUTCOME]: 'fallback' }), 1);
    assert.equal(await probe.value(Metric.NOTICES_SENT, webhook), 1, 'still only prov-a by webhook');
  });

  await t.test('a permanent SMTP refusal: failed once as undeliverable on e-mail, no retry', async () => {
    await publish([matchedEvent('prov-f', 'f1')]);
    await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-f'), { timeoutMs: 60_000, what: 'notices.failed for prov-f' });
    await waitFor(async () => (await probe.value(Metric.NOTICES_FAILED, { ...email, [Attr.OUTCOME]: 'undeliverable' })) === 1, { what: 'failed{email, undeliverable} = 1' });
    assert.equal(await probe.value(Metric.NOTICES_RETRIED, email), 0);
    assert.equal(await probe.value(Metric.NOTICES_SENT), 2);
  });
});
