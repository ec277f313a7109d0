/**
 * The send pass against the real database: a pass runs several lanes, and the next pass, or the
 * shutdown, starts when it ends. So it ends only when every lane has, also when one of them fails.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import { loadConfig } from '@hashcheck/config';
import { connectMongo, ensureIndexes } from '@hashcheck/mongo';
import type { Provider } from '@hashcheck/providers';
import { connectionLost, databaseUri, infra, randomName, waitFor } from '@hashcheck/testing';
import type { Mailer, SmtpOutcome } from '../src/channels/email';
import type { WebhookClient } from '../src/channels/webhook';
import { NotificationConfigSchema } from '../src/config';
import { ManualClock } from '../src/domain/clock';
import { NoticeSender } from '../src/notices/sender';
import { resolveSettings } from '../src/settings';
import { Collections, INDEXES, NoticeState, type NoticeDocument } from '../src/store/collections';

async function database(t: TestContext) {
  const env = infra(t);
  if (!env) return undefined;
  const name = randomName('nsender').replace(/-/g, '_');
  const handle = await connectMongo(databaseUri(env.mongoUri, name), { appName: 'notification-sender-test' });
  await ensureIndexes(handle.db, INDEXES);
  t.after(async () => {
    await handle.db.dropDatabase();
    await handle.client.close();
  });
  return handle.db;
}

/** The real database, except that the first read of the due notices made while `when()` holds fails (connectionLost). */
function findFailingOnceWhile(db: Db, when: () => boolean): Db {
  let failed = false;
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== 'collection') {
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (name: string) => {
        const coll = target.collection(name);
        if (name !== Collections.NOTICES) return coll;
        return new Proxy(coll, {
          get(c, p) {
            if (p === 'find' && !failed && when()) {
              return () => {
                failed = true;
                throw connectionLost();
              };
            }
            const value = Reflect.get(c, p, c) as unknown;
            return typeof value === 'function' ? value.bind(c) : value;
          },
        });
      };
    },
  });
}

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
    db: findFailingOnceWhile(db, () => sending > 0), settings, clock, random: () => 0.5, providers, mailer, workerId: 'w',
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
