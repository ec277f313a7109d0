import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { matchedEvent, providerEvent, startReceiver, startSmtp } from './helpers';
import { bootNotification, FAST, publishProviders, sleep } from './setup';

test('without an allow-list, loopback and link-local webhook URLs are refused and e-mail takes over', async (t) => {
  const env = infra(t);
  if (!env) return;
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const receiver = await startReceiver('secret-s');
  t.after(() => receiver.close());

  // The same receiver URL the notices test reaches with WEBHOOK_ALLOWED_ADDRESSES=127.0.0.1; here it is unset.
  const h = await bootNotification(t, env, { ...FAST, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port) });
  t.after(() => h.app.close());
  await publishProviders(h, [
    providerEvent({ id: 'prov-literal', webhook: { url: receiver.url }, abuseContacts: ['abuse@prov-literal.example'] }, 'secret-s'),
    providerEvent({ id: 'prov-name', webhook: { url: `http://localhost:${receiver.port}/hashcheck/notices` }, abuseContacts: ['abuse@prov-name.example'] }, 'secret-s'),
    providerEvent({ id: 'prov-metadata', webhook: { url: 'http://169.254.169.254/latest/meta-data/' } }, 'secret-s'),
  ]);
  await h.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-literal', 's1'), matchedEvent('prov-name', 's2'), matchedEvent('prov-metadata', 's3')]);

  const literal = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-literal'), { what: 'refusal of the IP literal' });
  assert.equal(literal.data.channel, 'webhook');
  assert.equal(literal.data.undeliverable, false);
  assert.match(literal.data.reason, /webhook address 127\.0\.0\.1 refused: loopback address/);

  // A host name passes the static check; the guarded lookup refuses it when the socket connects.
  const name = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-name'), { what: 'refusal of localhost' });
  assert.match(name.data.reason, /webhook host localhost resolves to (127\.0\.0\.1|::1): loopback address/);

  const metadata = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-metadata'), { what: 'refusal of the metadata address' });
  assert.equal(metadata.data.undeliverable, true, 'no e-mail address to fall back to');
  assert.equal(metadata.data.channel, 'webhook');
  assert.match(metadata.data.reason, /linkLocal address/);

  for (const id of ['prov-literal', 'prov-name']) {
    await waitFor(() => smtp.mails.find((m) => m.to.includes(`abuse@${id}.example`)), { what: `e-mail fallback for ${id}` });
    const sent = await waitFor(() => h.sent().find((e) => e.data.providerId === id), { what: `notices.sent for ${id}` });
    assert.equal(sent.data.channel, 'email');
  }
  await sleep(300);
  assert.equal(receiver.requests.length, 0, 'the loopback receiver was never reached');
});
