import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEvent, NoticesRequested, Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { caseKeyOf, matchedEvent, mimePart, providerEvent, sha256, startReceiver, startSmtp } from './helpers';
import { bootNotification, FAST, OFFICER_KEY, publishProviders, sleep } from './setup';

test('notices: grouping, signed webhooks, retries, fallback to e-mail, undeliverable, re-notices, proof of delivery', async (t) => {
  const env = infra(t);
  if (!env) return;
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const rA = await startReceiver('secret-a');
  const rB = await startReceiver('secret-b', (n) => (n <= 2 ? 503 : 202));
  const rC = await startReceiver('secret-c', () => 500);
  t.after(async () => { await rA.close(); await rB.close(); await rC.close(); });

  const h = await bootNotification(t, env, {
    ...FAST,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
    DEADLINE_TERMS: 'regulated-1h=1h',
  });
  t.after(() => h.app.close());
  await publishProviders(h, [
    providerEvent({ id: 'prov-a', category: 'regulated-1h', webhook: { url: rA.url }, abuseContacts: ['abuse@prov-a.example'] }, 'secret-a'),
    providerEvent({ id: 'prov-b', webhook: { url: rB.url }, abuseContacts: ['abuse@prov-b.example'] }, 'secret-b'),
    providerEvent({ id: 'prov-c', webhook: { url: rC.url }, abuseContacts: ['abuse@prov-c.example', 'noc@prov-c.example'] }, 'secret-c'),
    providerEvent({ id: 'prov-e', country: 'DE' }),
    providerEvent({ id: 'prov-f', abuseContacts: ['reject@prov-f.example'] }),
    providerEvent({ id: 'prov-g', country: 'GB', webhook: { url: rA.url }, abuseContacts: ['abuse@prov-g.example'] }),
  ]);
  const publish = (events: Parameters<typeof h.app.kafka.producer.publish>[1]) => h.app.kafka.producer.publish(Topics.reportsMatched, events);
  const notices = h.app.mongo.db.collection('notices');

  const a = ['a1', 'a2', 'a3'].map((s) => matchedEvent('prov-a', s));
  await t.test('items for one provider within the window go out as one signed webhook notice', async () => {
    await publish(a);
    await publish([matchedEvent('prov-b', 'b1')]);
    const [delivery] = await waitFor(() => (rA.accepted().length >= 1 ? rA.accepted() : undefined), { what: 'a notice at receiver A' });
    assert.ok(delivery!.signatureOk, 'the receiver verified the signature with the documented recipe');
    assert.equal(delivery!.idempotencyKey, delivery!.json.noticeId);
    assert.equal(delivery!.json.providerId, 'prov-a');
    assert.deepEqual(delivery!.json.items.map((i) => i.url).sort(), a.map((e) => e.data.url).sort());

    const sent = await waitFor(() => h.sent().find((e) => e.data.noticeId === delivery!.json.noticeId), { what: 'notices.sent for prov-a' });
    const data = sent.data as unknown as { sentAt: string; channel: string; contact: string; attempt: number; items: Array<{ deadlineAt: string; caseId: string }>; deliveryProof: { payloadSha256: string; responseCode: number; messageId: string; status: string } };
    assert.equal(data.channel, 'webhook');
    assert.equal(data.contact, rA.url);
    assert.equal(data.attempt, 1);
    // The legal clock: delivery time plus the provider category's term (1 h for regulated-1h).
    for (const it of data.items) assert.equal(new Date(it.deadlineAt).getTime() - new Date(data.sentAt).getTime(), 3_600_000);
    assert.equal(data.deliveryProof.payloadSha256, sha256(delivery!.body), 'the proof hashes exactly the bytes the receiver got');
    assert.equal(data.deliveryProof.responseCode, 202);
    assert.equal(data.deliveryProof.status, 'delivered');
    assert.equal(data.deliveryProof.messageId, 'rcpt-1');
  });

  await t.test('a redelivered or re-matched report never yields a second notice', async () => {
    await publish(a);
    await publish([matchedEvent('prov-a', 'a1')]);
    await sleep(1500);
    assert.equal(rA.requests.length, 1);
    assert.equal(await notices.countDocuments({ providerId: 'prov-a' }), 1);
    assert.equal(h.sent().filter((e) => e.data.providerId === 'prov-a').length, 1);
  });

  await t.test('a receiver that fails for a while gets its notice later, exactly once', async () => {
    await waitFor(() => (rB.accepted().length >= 1 ? true : undefined), { what: 'prov-b delivery after retries' }).catch(async (err) => {
      const docs = await notices.find({ providerId: 'prov-b' }).toArray();
      throw new Error(`${(err as Error).message}; requests ${JSON.stringify(rB.requests.map((r) => [r.status, r.noticeId]))}; notices ${JSON.stringify(docs)}`);
    });
    await sleep(800);
    assert.equal(rB.requests.length, 3, 'two 503s, then accepted');
    assert.equal(rB.accepted().length, 1);
    assert.equal(new Set(rB.requests.map((r) => r.idempotencyKey)).size, 1, 'every attempt carries the same idempotency key');
    await waitFor(() => h.sent().find((e) => e.data.providerId === 'prov-b'), { what: 'notices.sent for prov-b' });
    const sent = h.sent().filter((e) => e.data.providerId === 'prov-b');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.data.attempt, 3);
    const doc = await notices.findOne({ providerId: 'prov-b' });
    assert.deepEqual((doc!.attempts as Array<{ httpStatus: number }>).map((x) => x.httpStatus), [503, 503, 202]);
    for (const [i, r] of rB.requests.entries()) assert.equal((doc!.attempts as Array<{ payloadSha256: string }>)[i]!.payloadSha256, sha256(r.body));
  });

  await t.test('webhook failing past its retry limit: notices.failed, then the notice goes by e-mail with a CSV attachment', async () => {
    const c = [matchedEvent('prov-c', 'c1'), matchedEvent('prov-c', 'c2')];
    await publish(c);
    const mail = await waitFor(() => smtp.mails.find((m) => m.to.includes('abuse@prov-c.example')), { what: 'e-mail for prov-c' });
    assert.deepEqual(mail.to.sort(), ['abuse@prov-c.example', 'noc@prov-c.example']);
    assert.equal(rC.requests.length, 3, `WEBHOOK_MAX_ATTEMPTS attempts before giving up: ${JSON.stringify(rC.requests.map((r) => [r.noticeId, r.json.items.length]))}`);
    const failed = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-c'), { what: 'notices.failed for prov-c' });
    assert.equal(failed.data.channel, 'webhook');
    assert.equal(failed.data.final, true);
    assert.equal(failed.data.undeliverable, false);
    assert.match(failed.data.reason, /HTTP 500 \(gave up after 3 attempts\)/);
    const sent = await waitFor(() => h.sent().find((e) => e.data.providerId === 'prov-c'), { what: 'notices.sent for prov-c' });
    const proof = (sent.data as unknown as { deliveryProof: { channel: string; status: string; payloadSha256: string; responseCode: number; messageId: string } }).deliveryProof;
    assert.equal(sent.data.channel, 'email');
    assert.equal(proof.status, 'accepted');
    assert.equal(proof.responseCode, 250);
    assert.equal(proof.payloadSha256, sha256(mail.raw), 'the proof hashes exactly the message the SMTP server received');
    const raw = mail.raw.toString('utf8');
    assert.match(raw, new RegExp(`Message-ID: <${sent.data.noticeId}@`, 'i'));
    assert.match(raw, /Subject: .*(Verzoek|=\?UTF-8\?)/, 'a Dutch subject for an NL provider');
    const csv = mimePart(mail.raw, 'Content-Type: text/csv');
    assert.ok(csv, 'CSV attachment present');
    assert.match(raw.replace(/\r\n\s+/g, ' '), /Content-Disposition: attachment;.*hashcheck-notice-/);
    assert.ok(csv!.startsWith('url,deadline_utc,report_id,case_id,notice_id\r\n'));
    for (const e of c) assert.ok(csv!.includes(e.data.url), `CSV lists ${e.data.url}: ${csv}`);
    const text = mimePart(mail.raw, 'text/plain');
    assert.ok(text?.includes('Geacht abuse-team van prov-c B.V.'), text);
    const html = mimePart(mail.raw, 'text/html');
    assert.ok(html?.includes('<code>https://files.example/c1.jpg</code>'));
  });

  await t.test('a provider with no usable channel: undeliverable and notices.failed with the reason', async () => {
    await publish([matchedEvent('prov-e', 'e1')]);
    const failed = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-e'), { what: 'notices.failed for prov-e' });
    assert.equal(failed.data.undeliverable, true);
    assert.match(failed.data.reason, /no webhook configured/);
    assert.match(failed.data.reason, /no abuse e-mail address/);
    assert.equal((failed.data as unknown as { items: unknown[] }).items.length, 1);
    const doc = await notices.findOne({ providerId: 'prov-e' });
    assert.equal(doc!.state, 'undeliverable');
  });

  await t.test('a permanent SMTP refusal makes the notice undeliverable', async () => {
    await publish([matchedEvent('prov-f', 'f1')]);
    const failed = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-f'), { what: 'notices.failed for prov-f' });
    assert.equal(failed.data.channel, 'email');
    assert.equal(failed.data.undeliverable, true);
    assert.match(failed.data.reason, /550/);
  });

  await t.test('a webhook without a signing secret is reported and e-mail takes over (English for a GB provider)', async () => {
    const before = rA.requests.length;
    await publish([matchedEvent('prov-g', 'g1')]);
    const mail = await waitFor(() => smtp.mails.find((m) => m.to.includes('abuse@prov-g.example')), { what: 'e-mail for prov-g' });
    assert.ok(mimePart(mail.raw, 'text/plain')?.includes('Dear abuse team of prov-g B.V.'));
    const failed = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-g'), { what: 'notices.failed for prov-g' });
    assert.equal(failed.data.channel, 'webhook');
    assert.match(failed.data.reason, /no signing secret/);
    assert.equal(rA.requests.length, before, 'nothing was posted unsigned');
  });

  await t.test('an unknown provider is looked up again, then undeliverable', async () => {
    await publish([matchedEvent('prov-missing', 'm1')]);
    const failed = await waitFor(() => h.failed().find((e) => e.data.providerId === 'prov-missing'), { what: 'notices.failed for prov-missing' });
    assert.equal(failed.data.undeliverable, true);
    assert.match(failed.data.reason, /not in the provider registry/);
  });

  await t.test('a report without a provider is kept as undeliverable for case officers, with no event', async () => {
    await publish([matchedEvent(null, 'u1')]);
    const doc = await waitFor(async () => (await notices.findOne({ providerId: null, state: 'undeliverable' })) ?? undefined, { what: 'the undeliverable notice without provider' });
    assert.match(String(doc.undeliverableReason), /no hosting provider/);
    assert.equal((doc.items as Array<{ url: string }>)[0]!.url, 'https://files.example/u1.jpg');
  });

  await t.test('re-notices from enforcement go out with their own deadline, once per request', async () => {
    const caseId = `${caseKeyOf('a1')}.1`;
    const deadlineAt = new Date(Date.now() + 7_200_000).toISOString();
    const request = createEvent(NoticesRequested, {
      subject: 'prov-a',
      source: 'enforcement',
      data: { requestId: `${caseId}:renotice:2`, providerId: 'prov-a', caseIds: [caseId, 'never-seen.1'], reason: 'deadline-passed', attempt: 2, deadlineAt },
    });
    await h.app.kafka.producer.publish(Topics.noticesRequested, [request]);
    const delivery = await waitFor(() => rA.accepted().find((d) => d.json.kind === 'renotice'), { what: 'a re-notice at receiver A' });
    assert.equal(delivery.json.requestId, request.data.requestId);
    assert.equal(delivery.json.items.length, 1);
    assert.equal(delivery.json.items[0]!.url, 'https://files.example/a1.jpg', 'URL taken from the initial notice');
    assert.equal(new Date(delivery.json.items[0]!.deadlineAt).toISOString(), deadlineAt);
    const sent = await waitFor(() => h.sent().find((e) => e.data.noticeId === delivery.json.noticeId), { what: 'notices.sent for the re-notice' });
    assert.equal(sent.data.requestId, request.data.requestId);
    const unknown = await waitFor(() => h.failed().find((e) => e.data.reason.includes('never-seen.1')), { what: 'notices.failed for the unknown case' });
    assert.equal(unknown.data.undeliverable, true);
    // Replay: the same request again changes nothing.
    await h.app.kafka.producer.publish(Topics.noticesRequested, [request]);
    await sleep(1000);
    assert.equal(rA.accepted().filter((d) => d.json.kind === 'renotice').length, 1);
    assert.equal(h.failed().filter((e) => e.data.reason.includes('never-seen.1')).length, 1);
  });

  await t.test('case officers read a notice with its proof of delivery and the exact bytes sent', async () => {
    const doc = await notices.findOne({ providerId: 'prov-b' });
    const id = doc!._id as unknown as string;
    assert.equal((await h.app.inject({ url: `/v1/notices/${id}` })).statusCode, 401);
    assert.equal((await h.app.inject({ url: `/v1/notices/${id}`, headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
    const res = await h.app.inject({ url: `/v1/notices/${id}`, headers: { authorization: `Bearer ${OFFICER_KEY}` } });
    assert.equal(res.statusCode, 200, res.body);
    const view = res.json();
    assert.equal(view.state, 'sent');
    assert.equal(view.attempts.length, 3);
    assert.equal(view.attempts[2].outcome, 'delivered');
    assert.ok(view.items[0].deadlineAt);
    const payload = await h.app.inject({ url: `/v1/notices/${id}/attempts/3/payload`, headers: { authorization: `Bearer ${OFFICER_KEY}` } });
    assert.equal(payload.statusCode, 200);
    assert.equal(payload.headers['content-type'], 'application/json');
    assert.equal(sha256(payload.rawPayload), view.attempts[2].payloadSha256);
    assert.deepEqual(payload.rawPayload, rB.accepted()[0]!.body);
    const byCase = await h.app.inject({ url: `/v1/notices?caseId=${encodeURIComponent(`${caseKeyOf('a1')}.1`)}`, headers: { authorization: `Bearer ${OFFICER_KEY}` } });
    assert.equal(byCase.json().notices.length, 2, 'the initial notice and the re-notice');
    const officer = { authorization: `Bearer ${OFFICER_KEY}` };
    const one = await h.app.inject({ url: `/v1/notices?caseId=${encodeURIComponent(`${caseKeyOf('a1')}.1`)}&limit=1`, headers: officer });
    assert.equal(one.statusCode, 200, `a page size can be given: ${one.body}`);
    assert.equal(one.json().notices.length, 1);
    for (const limit of ['0', 'x', '-1', '1.5']) assert.equal((await h.app.inject({ url: `/v1/notices?state=sent&limit=${limit}`, headers: officer })).statusCode, 400, `limit=${limit}`);
    const spec = (await h.app.inject('/openapi.json')).json();
    assert.ok(spec.paths['/v1/notices/{noticeId}'], 'documented in OpenAPI');
  });
});
