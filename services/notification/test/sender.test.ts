/**
 * The send pass against the real database: a pass runs several lanes, and the next pass, or the
 * shutdown, starts when it ends. So it ends only when every lane has, also when one of them fails.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@hashcheck/config';
import type { Provider } from '@hashcheck/providers';
import { failingOnce, waitFor } from '@hashcheck/testing';
import type { Mailer, SmtpOutcome } from '../src/channels/email';
import type { WebhookClient } from '../src/channels/webhook';
import { NotificationConfigSchema } from '../src/config';
import { ManualClock } from '../src/domain/clock';
import { Topics } from '@hashcheck/events';
import { DEFAULT_GROUPING } from '../src/domain/grouping';
import { NoticeInbox } from '../src/notices/inbox';
import { NoticeSender } from '../src/notices/sender';
import { sha256Hex } from '../src/domain/ids';
import { resolveSettings } from '../src/settings';
import { Collections, NoticeState, type NoticeDocument, type PayloadDocument } from '../src/store/collections';
import { testDatabase } from './helpers';

const database = (t: TestContext) => testDatabase(t, 'nsender');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a send pass whose lane fails ends only after its other lanes have finished sending and recorded the notice', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const settings = resolveSettings(loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x', NOTICE_SEND_CONCURRENCY: '2' }));
  const provider = (id: string, contact: string): Provider => ({
    id, name: `${id} B.V.`, country: 'NL', abuseContacts: [contact], domains: [], ipRanges: [], category: 'hosting-nl', revision: 1, updatedAt: clock.now().toISOString(),
  });
  const providers = new Map([['p-fast', provider('p-fast', 'fast@p.example')], ['p-slow', provider('p-slow', 'slow@p.example')]]);
  const due = (id: string, providerId: string): NoticeDocument => ({
    _id: id, version: 0, groupKey: `provider:${providerId}`, kind: 'initial', providerId,
    items: [{ key: `k-${id}`, reportId: `r-${id}`, caseKey: 'c'.repeat(64), caseId: `${'c'.repeat(64)}.1`, url: `https://files.example/${id}.jpg` }],
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  });
  await db.collection<NoticeDocument>(Collections.NOTICES).insertMany([due('n-fast', 'p-fast'), due('n-slow', 'p-slow')]);

  // One lane sends the fast notice, the other the slow one; the fast lane's next claim finds the
  // database gone while the slow one is still sending.
  let sending = 0;
  const mailer = {
    async send(_raw: Buffer, envelope: { to: readonly string[] }): Promise<SmtpOutcome> {
      sending++;
      try {
        await sleep(envelope.to[0] === 'slow@p.example' ? 1500 : 20);
      } finally {
        sending--;
      }
      return { ok: true, receipt: { response: '250 2.0.0 queued', accepted: [...envelope.to], rejected: [] } };
    },
  } as unknown as Mailer;
  const recorded: string[] = [];
  const sender = new NoticeSender({
    db: failingOnce(db, Collections.NOTICES, 'find', () => sending > 0), settings, clock, random: () => 0.5, providers, mailer, workerId: 'w',
    // Unused: the providers have e-mail contacts only.
    webhook: {} as WebhookClient,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    notifyOutbox: () => {},
    onSent: (notice) => {
      recorded.push(notice._id);
      return Promise.resolve();
    },
  });

  try {
    await assert.rejects(sender.runOnce(), /connection to the database was lost/, 'the pass reports the lane that failed');
    assert.equal(sending, 0, 'a lane was still sending when the pass ended');
    assert.deepEqual(recorded.sort(), ['n-fast', 'n-slow'], 'both notices are recorded as sent by the time the pass ends');
    const states = await db.collection<NoticeDocument>(Collections.NOTICES).find({}, { sort: { _id: 1 } }).toArray();
    assert.deepEqual(states.map((n) => [n._id, n.state]), [['n-fast', NoticeState.SENT], ['n-slow', NoticeState.SENT]]);
  } finally {
    // Should a lane outlive the pass, let it finish before the database is dropped.
    await waitFor(() => recorded.length === 2, { timeoutMs: 10_000, what: 'both notices recorded' }).catch(() => {});
  }
});

test('a case closed while its notice is in retries is dropped before the next attempt; a notice left with no open case is cancelled, not sent', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const settings = resolveSettings(loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x', NOTICE_SEND_CONCURRENCY: '1' }));
  const providers = new Map<string, Provider>([['p-mail', {
    id: 'p-mail', name: 'Mail B.V.', country: 'GB', abuseContacts: ['abuse@p.example'], domains: [], ipRanges: [], category: 'hosting-nl', revision: 1, updatedAt: clock.now().toISOString(),
  }]]);
  const caseOf = (n: string) => `${n.repeat(64).slice(0, 64)}.1`;
  const itemOf = (n: string) => ({ key: `initial:${caseOf(n)}`, reportId: `r-${n}`, caseKey: n.repeat(64).slice(0, 64), caseId: caseOf(n), url: `https://files.example/item-${n}.jpg` });
  const due = (id: string, items: string[]): NoticeDocument => ({
    _id: id, version: 0, groupKey: 'provider:p-mail', kind: 'initial', providerId: 'p-mail', items: items.map(itemOf),
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  });
  const notices = db.collection<NoticeDocument>(Collections.NOTICES);
  await notices.insertMany([due('n-mixed', ['a', 'b', 'c']), due('n-closed', ['d'])]);

  // The SMTP server answers 451 at first: both notices go into retries, sealed with every item.
  let accept = false;
  const mails: string[] = [];
  const mailer = {
    send(raw: Buffer, envelope: { to: readonly string[] }): Promise<SmtpOutcome> {
      mails.push(raw.toString('utf8'));
      if (!accept) return Promise.resolve({ ok: false, error: Object.assign(new Error('try again later'), { responseCode: 451 }) });
      return Promise.resolve({ ok: true, receipt: { response: '250 2.0.0 queued', accepted: [...envelope.to], rejected: [] } });
    },
  } as unknown as Mailer;
  const events: { topic: string; event: string }[] = [];
  const sentCases: string[] = [];
  const sender = new NoticeSender({
    db, settings, clock, random: () => 0.5, providers, mailer, workerId: 'w', webhook: {} as WebhookClient,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    notifyOutbox: (hint) => {
      for (const e of hint.entries ?? []) events.push({ topic: e.topic, event: typeof e.event === 'string' ? e.event : JSON.stringify(e.event) });
    },
    onSent: (_notice, caseIds) => {
      sentCases.push(...caseIds);
      return Promise.resolve();
    },
  });
  await sender.runOnce();
  assert.equal(mails.length, 2, 'one failed attempt per notice');
  assert.ok(mails.every((m) => m.includes('item-a.jpg') || m.includes('item-d.jpg')));

  // Enforcement closes a as a false positive, b as withdrawn and d as removed (d twice: a replay).
  const inbox = new NoticeInbox(db, DEFAULT_GROUPING, clock, () => {});
  const close = (n: string, outcome: 'removed' | 'false-positive' | 'withdrawn') => inbox.onCaseClosed({ caseId: caseOf(n), providerId: 'p-mail', outcome });
  await close('a', 'false-positive');
  await close('b', 'withdrawn');
  await close('d', 'removed');
  await close('d', 'removed');

  accept = true;
  mails.length = 0;
  clock.advance(2 * 3_600_000);
  await sender.runOnce();

  assert.equal(mails.length, 1, `only the notice with an open case is sent (${mails.length} mails)`);
  assert.ok(mails[0]!.includes('item-c.jpg'), 'the open case is in the mail');
  assert.ok(!mails[0]!.includes('item-a.jpg') && !mails[0]!.includes('item-b.jpg'), 'no closed case is in the mail');
  const mixed = (await notices.findOne({ _id: 'n-mixed' }))!;
  assert.equal(mixed.state, NoticeState.SENT);
  assert.deepEqual(mixed.items.map((i) => i.caseId), [caseOf('c')]);
  assert.deepEqual(mixed.droppedItems?.map((i) => [i.caseId, i.closedOutcome]), [[caseOf('a'), 'false-positive'], [caseOf('b'), 'withdrawn']]);
  const delivering = mixed.attempts.at(-1)!;
  const payload = await db.collection<PayloadDocument>(Collections.PAYLOADS).findOne({ noticeId: 'n-mixed', n: delivering.n, sha256: delivering.payloadSha256! });
  assert.ok(payload && !payload.bytes.toString('utf8').includes('item-a.jpg') && payload.bytes.toString('utf8').includes('item-c.jpg'), 'the stored payload of the delivering attempt holds the open case only');
  const sent = events.filter((e) => e.topic === Topics.noticesSent).map((e) => JSON.parse(e.event) as { data: { noticeId: string; items: { caseId: string }[] } });
  assert.deepEqual(sent.map((e) => [e.data.noticeId, e.data.items.map((i) => i.caseId)]), [['n-mixed', [caseOf('c')]]], 'notices.sent names the open case only');
  assert.deepEqual(sentCases, [caseOf('c')], 'victim tracking hears of the open case only');

  const closed = (await notices.findOne({ _id: 'n-closed' }))!;
  assert.equal(closed.state, NoticeState.CANCELLED, 'every case closed: cancelled');
  assert.equal(closed.nextAttemptAt, null);
  assert.match(closed.cancelledReason ?? '', /removed/);
  assert.deepEqual(closed.items, []);
  assert.equal(events.filter((e) => JSON.stringify(e).includes('n-closed')).length, 0, 'nothing is emitted for a cancelled notice');
});

test('a notice whose provider is not in the registry view yet waits for it at least PROVIDER_LOOKUP_MIN_MS, however fast its tries pass, and is sent once it appears', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const settings = resolveSettings(loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x', PROVIDER_LOOKUP_ATTEMPTS: '3', PROVIDER_LOOKUP_MIN_MS: '600000' }));
  const providers = new Map<string, Provider>();
  const notices = db.collection<NoticeDocument>(Collections.NOTICES);
  const caseKey = 'e'.repeat(64);
  await notices.insertOne({
    _id: 'n-late', version: 0, groupKey: 'provider:p-late', kind: 'initial', providerId: 'p-late',
    items: [{ key: `initial:${caseKey}.1`, reportId: 'r-late', caseKey, caseId: `${caseKey}.1`, url: 'https://files.example/late.jpg' }],
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  });
  const mails: string[] = [];
  const mailer = {
    send(raw: Buffer, envelope: { to: readonly string[] }): Promise<SmtpOutcome> {
      mails.push(raw.toString('utf8'));
      return Promise.resolve({ ok: true, receipt: { response: '250 2.0.0 queued', accepted: [...envelope.to], rejected: [] } });
    },
  } as unknown as Mailer;
  const events: string[] = [];
  const sender = new NoticeSender({
    db, settings, clock, random: () => 0, providers, mailer, workerId: 'w', webhook: {} as WebhookClient,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    notifyOutbox: (hint) => { for (const e of hint.entries ?? []) events.push(e.topic); },
    onSent: () => Promise.resolve(),
  });
  const state = async () => (await notices.findOne({ _id: 'n-late' }))!;

  // Full jitter drawn at 0: every try is due at once. Ten tries in the first minute.
  for (let i = 0; i < 10; i++) {
    await sender.runOnce();
    clock.advance(6_000);
  }
  const waiting = await state();
  assert.equal(waiting.state, NoticeState.PENDING, `still waiting for its provider after ${waiting.lookupAttempts} tries in a minute`);
  assert.ok(waiting.lookupAttempts >= 3, 'the tries were made');
  assert.deepEqual(events, [], 'no notices.failed while it waits');

  // The provider's registry event arrives nine minutes in: the notice goes out.
  clock.advance(8 * 60_000);
  providers.set('p-late', { id: 'p-late', name: 'Late B.V.', country: 'NL', abuseContacts: ['abuse@late.example'], domains: [], ipRanges: [], category: 'hosting-nl', revision: 1, updatedAt: clock.now().toISOString() });
  await sender.runOnce();
  assert.equal((await state()).state, NoticeState.SENT);
  assert.equal(mails.length, 1);
  assert.ok(mails[0]!.includes('late.jpg'));
});

test('a notice whose provider never appears is undeliverable once PROVIDER_LOOKUP_MIN_MS has passed and its tries are spent', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const settings = resolveSettings(loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x', PROVIDER_LOOKUP_ATTEMPTS: '3', PROVIDER_LOOKUP_MIN_MS: '600000' }));
  const notices = db.collection<NoticeDocument>(Collections.NOTICES);
  const caseKey = 'f'.repeat(64);
  await notices.insertOne({
    _id: 'n-never', version: 0, groupKey: 'provider:p-never', kind: 'initial', providerId: 'p-never',
    items: [{ key: `initial:${caseKey}.1`, reportId: 'r-never', caseKey, caseId: `${caseKey}.1`, url: 'https://files.example/never.jpg' }],
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  });
  const events: string[] = [];
  const sender = new NoticeSender({
    db, settings, clock, random: () => 0, providers: new Map(), mailer: {} as Mailer, workerId: 'w', webhook: {} as WebhookClient,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    notifyOutbox: (hint) => { for (const e of hint.entries ?? []) events.push(e.topic); },
    onSent: () => Promise.resolve(),
  });
  for (let minute = 0; minute <= 11; minute++) {
    await sender.runOnce();
    clock.advance(60_000);
  }
  const doc = (await notices.findOne({ _id: 'n-never' }))!;
  assert.equal(doc.state, NoticeState.UNDELIVERABLE);
  assert.match(doc.undeliverableReason ?? '', /not in the provider registry/);
  assert.deepEqual(events, [Topics.noticesFailed], 'enforcement is told, once');
});

test('a notice sent by a holder that stopped before recording it keeps those bytes: the next holder\'s try is stored beside them, never over them', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const settings = resolveSettings(loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x', NOTICE_SEND_CONCURRENCY: '1' }));
  const providers = new Map<string, Provider>([['p-crash', {
    id: 'p-crash', name: 'Crash B.V.', country: 'GB', abuseContacts: ['abuse@crash.example'], domains: [], ipRanges: [], category: 'hosting-nl', revision: 1, updatedAt: clock.now().toISOString(),
  }]]);
  const caseKey = 'a'.repeat(64);
  const notices = db.collection<NoticeDocument>(Collections.NOTICES);
  await notices.insertOne({
    _id: 'n-crash', version: 0, groupKey: 'provider:p-crash', kind: 'initial', providerId: 'p-crash',
    items: [{ key: `initial:${caseKey}.1`, reportId: 'r-crash', caseKey, caseId: `${caseKey}.1`, url: 'https://files.example/crash.jpg' }],
    state: NoticeState.PENDING, createdAt: clock.now(), updatedAt: clock.now(), nextAttemptAt: clock.now(),
    channel: null, channelAttempts: 0, lookupAttempts: 0, givenUp: [], attempts: [], failures: [],
  });
  // The SMTP server accepts every message (the provider acts on the first one it sees).
  const mails: Buffer[] = [];
  const mailer = {
    send(raw: Buffer, envelope: { to: readonly string[] }): Promise<SmtpOutcome> {
      mails.push(Buffer.from(raw));
      return Promise.resolve({ ok: true, receipt: { response: '250 2.0.0 queued', accepted: [...envelope.to], rejected: [] } });
    },
  } as unknown as Mailer;
  const errors: string[] = [];
  const sender = new NoticeSender({
    // The first step insert after sending fails: the sender "dies" after sending, before recording.
    db: failingOnce(db, Collections.STEPS, 'insertOne'), settings, clock, random: () => 0.5, providers, mailer, workerId: 'w', webhook: {} as WebhookClient,
    logger: { info: () => {}, warn: () => {}, error: (_o, m) => errors.push(m) },
    notifyOutbox: () => {},
    onSent: () => Promise.resolve(),
  });

  await sender.runOnce();
  assert.equal(mails.length, 1, 'the first holder sent the notice');
  assert.equal((await notices.findOne({ _id: 'n-crash' }))!.attempts.length, 0, 'and stopped before recording the attempt');
  assert.equal(errors.length, 1);

  // Its lease runs out; the next holder sends again, later: another Date, other deadlines, other bytes.
  clock.advance(settings.leaseMs + 60_000);
  await sender.runOnce();
  assert.equal(mails.length, 2, 'the next holder sent it again');
  const [first, second] = mails as [Buffer, Buffer];
  assert.notEqual(sha256Hex(first), sha256Hex(second), 'the two tries differ');

  const notice = (await notices.findOne({ _id: 'n-crash' }))!;
  assert.equal(notice.state, NoticeState.SENT);
  assert.deepEqual(notice.attempts.map((a) => [a.n, a.payloadSha256]), [[1, sha256Hex(second)]], 'the recorded attempt is the second try');
  const kept = await db.collection<PayloadDocument>(Collections.PAYLOADS).find({ noticeId: 'n-crash' }).toArray();
  const byHash = new Map(kept.map((p) => [p.sha256, Buffer.from(p.bytes.buffer)]));
  assert.equal(kept.length, 2, `both tries are kept (${kept.length} payload documents)`);
  assert.ok(byHash.get(sha256Hex(first))?.equals(first), 'the bytes the provider acted on first are kept unchanged');
  assert.ok(byHash.get(sha256Hex(second))?.equals(second), 'the bytes of the recorded attempt are kept');
  assert.ok(kept.every((p) => p.n === 1));
});
