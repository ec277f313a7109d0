import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createEvent, CasesClosed, Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { caseKeyOf, matchedEvent, mimePart, providerEvent, startSmtp } from './helpers';
import { ADMIN_KEY, bootNotification, FAST, OFFICER_KEY, publishProviders, sleep, type Harness } from './setup';

const admin = { authorization: `Bearer ${ADMIN_KEY}` };

/** The service with an SMTP server that keeps what it receives; both closed when the test ends. */
async function withSmtp(t: TestContext, vars: Record<string, string> = {}): Promise<{ h: Harness; smtp: Awaited<ReturnType<typeof startSmtp>> } | undefined> {
  const env = infra(t);
  if (!env) return undefined;
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const h = await bootNotification(t, env, { ...FAST, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), ...vars });
  t.after(() => h.app.close());
  return { h, smtp };
}

test('victim digests: opt-in registry, counts only, each detection and all-removed, opt-out', async (t) => {
  const booted = await withSmtp(t);
  if (!booted) return;
  const { h, smtp } = booted;
  await publishProviders(h, [providerEvent({ id: 'prov-v', abuseContacts: ['abuse@prov-v.example'] })]);
  const db = h.app.mongo.db;

  await t.test('only administrators keep the registry', async () => {
    const body = { intermediary: { email: 'desk@support.example', name: 'Support desk' }, reference: 'IM-2025-007', choice: 'each-detection', delaySeconds: 2, language: 'en' };
    assert.equal((await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-each', payload: body })).statusCode, 401);
    assert.equal((await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-each', payload: body, headers: { authorization: `Bearer ${OFFICER_KEY}` } })).statusCode, 403);
    const bad = await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-each', payload: { ...body, choice: 'hourly' }, headers: admin });
    assert.equal(bad.statusCode, 400);
    const created = await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-each', payload: body, headers: admin });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().choice, 'each-detection');
    const again = await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-each', payload: body, headers: admin });
    assert.equal(again.statusCode, 200);
    const page = await h.app.inject({ url: '/v1/victim-series?limit=1', headers: admin });
    assert.equal(page.statusCode, 200, `a page size can be given: ${page.body}`);
    assert.equal(page.json().series.length, 1);
    assert.equal((await h.app.inject({ url: '/v1/victim-series?limit=0', headers: admin })).statusCode, 400);
    const removedChoice = await h.app.inject({
      method: 'PUT', url: '/v1/victim-series/series-gone', headers: admin,
      payload: { intermediary: { email: 'desk@support.example' }, choice: 'all-removed', delaySeconds: 0.2, language: 'nl' },
    });
    assert.equal(removedChoice.statusCode, 201);
  });

  await t.test('each detection: a delayed digest to the intermediary with counts and no URLs, hashes or providers', async () => {
    const events = [matchedEvent('prov-v', 'v1', { seriesId: 'series-each' }), matchedEvent('prov-v', 'v2', { seriesId: 'series-each' })];
    const published = Date.now();
    await h.app.kafka.producer.publish(Topics.reportsMatched, events);
    const mail = await waitFor(() => smtp.mails.find((m) => m.to.includes('desk@support.example')), { what: 'the digest' });
    assert.ok(mail.at.getTime() - published >= 2000, 'held back for the chosen delay');
    const text = mimePart(mail.raw, 'text/plain')!;
    assert.match(text, /Digest for IM-2025-007/);
    assert.match(text, /Found in total: 2/);
    assert.match(text, /Newly found since the previous digest: 2/);
    const raw = mail.raw.toString('utf8');
    for (const e of events) {
      assert.ok(!raw.includes(e.data.url) && !raw.includes('files.example'), 'no URL');
      assert.ok(!raw.includes(e.data.caseKey) && !raw.includes(e.data.hashes.sha256!), 'no hash');
    }
    assert.ok(!raw.includes('prov-v'), 'no provider');
    // The digest is recorded right after the SMTP server accepted it.
    const view = await waitFor(async () => {
      const v = await h.app.inject({ url: '/v1/victim-series/series-each', headers: admin });
      return v.json().digestsSent === 1 ? v : undefined;
    }, { what: 'the digest recorded' });
    assert.equal(view.json().counts.found, 2);
    assert.equal(view.json().counts.newlyFound, 0, 'counted as of the digest');
    const digests = await h.app.inject({ url: '/v1/victim-series/series-each/digests', headers: admin });
    assert.equal(digests.json().digests[0].state, 'sent');
    assert.equal(digests.json().digests[0].counts.found, 2);
  });

  await t.test('nothing is kept for a series that did not opt in', async () => {
    await h.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-v', 'v3', { seriesId: 'series-unknown' })]);
    await waitFor(async () => (await db.collection('notice_items').countDocuments({ caseKey: caseKeyOf('v3') })) === 1 || undefined, { what: 'the v3 item' });
    assert.equal(await db.collection('victim_cases').countDocuments({ seriesId: 'series-unknown' }), 0);
  });

  await t.test('all removed: no digest while something is online, one when the last case is removed', async () => {
    const before = smtp.mails.length;
    await h.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-v', 'g1', { seriesId: 'series-gone' }), matchedEvent('prov-v', 'g2', { seriesId: 'series-gone' })]);
    await waitFor(async () => (await db.collection('victim_cases').countDocuments({ seriesId: 'series-gone' })) === 2 || undefined, { what: 'two tracked cases' });
    const close = (seed: string) => createEvent(CasesClosed, { subject: `${caseKeyOf(seed)}.1`, source: 'enforcement', data: { caseId: `${caseKeyOf(seed)}.1`, providerId: 'prov-v', outcome: 'removed' } });
    await h.app.kafka.producer.publish(Topics.casesClosed, [close('g1')]);
    await waitFor(async () => (await db.collection('victim_cases').countDocuments({ seriesId: 'series-gone', status: 'removed' })) === 1 || undefined, { what: 'one removed' });
    await sleep(800);
    assert.equal(smtp.mails.filter((m) => m.raw.includes('HashCheck-overzicht')).length, 0, 'nothing while one is online');
    await h.app.kafka.producer.publish(Topics.casesClosed, [close('g2')]);
    const mail = await waitFor(() => smtp.mails.slice(before).find((m) => mimePart(m.raw, 'text/plain')?.includes('Alles wat tot nu toe is gevonden, is verwijderd.')), { what: 'the all-removed digest' });
    const text = mimePart(mail.raw, 'text/plain')!;
    assert.match(text, /Gevonden in totaal: 2/);
    assert.match(text, /Verwijderd: 2/);
    assert.match(text, /Nog online: 0/);
    // A replayed closure changes nothing.
    await h.app.kafka.producer.publish(Topics.casesClosed, [close('g2')]);
    await sleep(800);
    assert.equal(smtp.mails.slice(before).filter((m) => mimePart(m.raw, 'text/plain')?.includes('Alles wat tot nu toe')).length, 1);
  });

  await t.test('opting out removes the link and what was kept for it', async () => {
    const res = await h.app.inject({ method: 'DELETE', url: '/v1/victim-series/series-each', headers: admin });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().cases, 2);
    assert.equal(await db.collection('victim_cases').countDocuments({ seriesId: 'series-each' }), 0);
    assert.equal(await db.collection('victim_digests').countDocuments({ seriesId: 'series-each' }), 0);
    assert.equal((await h.app.inject({ url: '/v1/victim-series/series-each', headers: admin })).statusCode, 404);
    assert.equal((await h.app.inject({ url: '/v1/victim-series/series-each/digests', headers: admin })).statusCode, 404, 'no digests served for a series that opted out');
  });
});

// Crash windows of the digest schedule: a pass or a request that dies between two writes must not
// leave a series without the digest it is owed (nothing else looks at a series with no due time).
test('victim digests: a detection that arrives while a digest is sent gets its own digest, even when the pass dies right after sending', async (t) => {
  // The lease is also how long a dead pass's series stays parked before the poller looks again.
  const booted = await withSmtp(t, { NOTICE_LEASE_MS: '7000' });
  if (!booted) return;
  const { h, smtp } = booted;
  const series = h.app.mongo.db.collection<{ _id: string; nextDigestAt: Date | null }>('victim_series');
  const put = await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-late', headers: admin, payload: { intermediary: { email: 'late@support.example' }, choice: 'each-detection', delaySeconds: 3600, language: 'en' } });
  assert.equal(put.statusCode, 201, put.body);
  const victims = h.app.notification.victims;
  const counts = victims.counts.bind(victims);
  const changedSince = victims.changedSince.bind(victims);
  let step = 0;
  await h.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-v', 'late-1', { seriesId: 'series-late' })]);
  await waitFor(async () => (await series.findOne({ _id: 'series-late' }))?.nextDigestAt ?? undefined, { what: 'the first digest scheduled, an hour out' });
  // The worker counts for its digest; then a second detection is handled (it finds the digest's
  // due time set and leaves it); the digest goes out; and the pass dies before it looks for late
  // changes.
  victims.counts = async (...args: Parameters<typeof counts>) => {
    const c = await counts(...args);
    if (step === 0) {
      step = 1;
      await victims.onMatched(matchedEvent('prov-v', 'late-2', { seriesId: 'series-late' }).data);
    }
    return c;
  };
  victims.changedSince = async (...args: Parameters<typeof changedSince>) => {
    if (step === 1) {
      step = 2;
      throw new Error('simulated crash after the digest was sent');
    }
    return changedSince(...args);
  };
  t.after(() => { victims.counts = counts; victims.changedSince = changedSince; });
  // Its hour is up.
  await series.updateOne({ _id: 'series-late' }, { $set: { nextDigestAt: new Date() } });
  const digests = () => smtp.mails.filter((m) => m.to.includes('late@support.example'));
  await waitFor(() => digests().length >= 1 || undefined, { what: 'the first digest' });
  assert.match(mimePart(digests()[0]!.raw, 'text/plain')!, /Newly found since the previous digest: 1/);
  await waitFor(() => step === 2 || undefined, { what: 'the simulated crash' });
  const second = await waitFor(() => digests()[1], { timeoutMs: 20_000, what: 'a digest for the detection that arrived during the first' });
  assert.match(mimePart(second.raw, 'text/plain')!, /Found in total: 2/);
  assert.match(mimePart(second.raw, 'text/plain')!, /Newly found since the previous digest: 1/);
});

test('victim digests: a changed choice is scheduled with the change, so a request that failed half-way leaves nothing unscheduled', async (t) => {
  const booted = await withSmtp(t);
  if (!booted) return;
  const { h, smtp } = booted;
  const body = { intermediary: { email: 'switch@support.example' }, choice: 'each-detection', delaySeconds: 3600, language: 'en' };
  assert.equal((await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-switch', headers: admin, payload: body })).statusCode, 201);
  await h.app.kafka.producer.publish(Topics.reportsMatched, [matchedEvent('prov-v', 'switch-1', { seriesId: 'series-switch' })]);
  const series = h.app.mongo.db.collection<{ _id: string; nextDigestAt: Date | null }>('victim_series');
  await waitFor(async () => (await series.findOne({ _id: 'series-switch' }))?.nextDigestAt ?? undefined, { what: 'a digest scheduled an hour out' });

  // The request dies after storing the new choice, wherever a separate rescheduling would come.
  const victims = h.app.notification.victims;
  const reschedule = victims.reschedule.bind(victims);
  victims.reschedule = async () => { throw new Error('simulated crash before rescheduling'); };
  const first = await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-switch', headers: admin, payload: { ...body, delaySeconds: 0.2 } });
  victims.reschedule = reschedule;
  // The operator retries (a 500 before; a success now).
  const retry = await h.app.inject({ method: 'PUT', url: '/v1/victim-series/series-switch', headers: admin, payload: { ...body, delaySeconds: 0.2 } });
  assert.equal(retry.statusCode, 200, `first ${first.statusCode}, retry ${retry.body}`);
  const mail = await waitFor(() => smtp.mails.find((m) => m.to.includes('switch@support.example')), { timeoutMs: 15_000, what: 'the digest under the new delay' });
  assert.match(mimePart(mail.raw, 'text/plain')!, /Newly found since the previous digest: 1/);
});
