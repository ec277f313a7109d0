/**
 * Victim digest retries against the real database: every digest has its own id, Message-ID and
 * retry budget (EMAIL_MAX_ATTEMPTS), also the first one after a digest that was given up.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@hashcheck/config';
import { connectMongo, ensureIndexes } from '@hashcheck/mongo';
import { databaseUri, infra, randomName } from '@hashcheck/testing';
import type { Mailer, SmtpOutcome } from '../src/channels/email';
import { NotificationConfigSchema } from '../src/config';
import { ManualClock } from '../src/domain/clock';
import { resolveSettings } from '../src/settings';
import { Collections, INDEXES, type VictimDigestDocument } from '../src/store/collections';
import { DigestSender } from '../src/victims/digests';
import { VictimRegistry } from '../src/victims/registry';
import { matchedEvent } from './helpers';

async function database(t: TestContext) {
  const env = infra(t);
  if (!env) return undefined;
  const name = randomName('ndigests').replace(/-/g, '_');
  const handle = await connectMongo(databaseUri(env.mongoUri, name), { appName: 'notification-digests-test' });
  await ensureIndexes(handle.db, INDEXES);
  t.after(async () => {
    await handle.db.dropDatabase();
    await handle.client.close();
  });
  return handle.db;
}

test('a digest after one that was given up gets a new id and Message-ID and its full retry budget', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const settings = resolveSettings(loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x', EMAIL_MAX_ATTEMPTS: '3' }));
  const registry = new VictimRegistry(db, clock, { workerId: 'w-http', leaseMs: settings.leaseMs });
  const seriesId = 'series-retry';
  await registry.upsert(seriesId, { intermediary: { email: 'desk@support.example' }, choice: 'each-detection', delayMs: 1000, language: 'en' });

  // The SMTP server answers 451 (try again later) `failures` more times, then accepts.
  let failures = Infinity;
  const mails: string[] = [];
  const mailer = {
    send(raw: Buffer, envelope: { to: readonly string[] }): Promise<SmtpOutcome> {
      mails.push(/^Message-ID: (.*)$/im.exec(raw.toString('utf8'))![1]!.trim());
      if (failures-- > 0) return Promise.resolve({ ok: false, error: Object.assign(new Error('try again later'), { responseCode: 451 }) });
      return Promise.resolve({ ok: true, receipt: { response: '250 2.0.0 queued', accepted: [...envelope.to], rejected: [] } });
    },
  } as unknown as Mailer;
  const logger = { info: () => {}, warn: () => {}, error: () => {} };
  const digests = new DigestSender({ db, registry, settings, clock, random: () => 0.5, mailer, workerId: 'w-digest', logger });
  const passes = async (count: number) => {
    for (let i = 0; i < count; i++) {
      clock.advance(2 * 3_600_000);
      await digests.runOnce();
    }
  };
  const records = async () => db.collection<VictimDigestDocument>(Collections.VICTIM_DIGESTS).find({ seriesId }).sort({ seq: 1 }).toArray();

  // The first digest fails until it is given up: three attempts.
  assert.equal(await registry.onMatched(matchedEvent('prov-v', 'retry-1', { seriesId }).data), 1);
  await passes(6);
  assert.equal(mails.length, 3, 'the first digest was tried EMAIL_MAX_ATTEMPTS times');
  const [gaveUp] = await records();
  assert.equal(gaveUp!.state, 'failed');
  assert.deepEqual(gaveUp!.attempts.map((a) => a.n), [1, 2, 3]);

  // A later detection: its digest fails twice more, and still gets through on its third attempt.
  failures = 2;
  mails.length = 0;
  assert.equal(await registry.onMatched(matchedEvent('prov-v', 'retry-2', { seriesId }).data), 1);
  await passes(6);
  assert.equal(mails.length, 3, `the later digest gets its full retry budget (${mails.length} attempts)`);
  const [first, later] = await records();
  assert.ok(later, 'the later digest has a record of its own');
  assert.notEqual(later._id, first!._id, 'and an id of its own');
  assert.equal(later.seq, first!.seq + 1);
  assert.equal(later.state, 'sent');
  assert.deepEqual(later.attempts.map((a) => [a.n, a.outcome]), [[1, 'failed'], [2, 'failed'], [3, 'delivered']], 'its attempts are counted from 1');
  assert.deepEqual(first!.attempts.length, 3, 'the given-up digest is left as it was');
  assert.equal(new Set(mails).size, 1, 'its retries share one Message-ID');
  assert.notEqual(mails[0], gaveUp!.attempts[0]!.messageId, 'which is not the given-up digest\'s');
  assert.ok(first!.givenUpAt, 'the first digest is marked as given up');
  assert.equal(later.counts.newlyFound, 2, 'it counts what the given-up digest did not deliver');
});
