/**
 * Opting out (DELETE /v1/victim-series/{id}, VictimRegistry#remove) against the real database,
 * racing a digest pass and a detection: once the opt-out has returned, no digest for the series is
 * sent and nothing is kept for it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import { loadConfig } from '@hashcheck/config';
import { intercepting, waitFor } from '@hashcheck/testing';
import type { Mailer, SmtpOutcome } from '../src/channels/email';
import { NotificationConfigSchema } from '../src/config';
import { ManualClock } from '../src/domain/clock';
import { resolveSettings } from '../src/settings';
import { Collections } from '../src/store/collections';
import { DigestSender } from '../src/victims/digests';
import { VictimRegistry } from '../src/victims/registry';
import { matchedEvent, testDatabase } from './helpers';

const database = (t: TestContext) => testDatabase(t, 'noptout');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A series with one detection whose digest is due, a digest sender with a fake mailer, and the registry. */
async function dueSeries(db: Db, seriesId: string, opts: { optOutWaitMs?: number } = {}) {
  const clock = new ManualClock();
  const settings = resolveSettings(loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: '127.0.0.1:1', MONGODB_URI: 'mongodb://127.0.0.1:1/x' }));
  const registry = new VictimRegistry(db, clock, { workerId: 'w-http', leaseMs: settings.leaseMs, ...opts });
  await registry.upsert(seriesId, { intermediary: { email: 'desk@support.example' }, choice: 'each-detection', delayMs: 1000, language: 'en' });
  assert.equal(await registry.onMatched(matchedEvent('prov-v', `${seriesId}-1`, { seriesId }).data), 1);
  clock.advance(2000);
  const mails: Buffer[] = [];
  let gate: Promise<void> | undefined;
  const mailer = {
    async send(raw: Buffer, envelope: { to: readonly string[] }): Promise<SmtpOutcome> {
      await gate;
      mails.push(raw);
      return { ok: true, receipt: { response: '250 2.0.0 queued', accepted: [...envelope.to], rejected: [] } };
    },
  } as unknown as Mailer;
  const logs: string[] = [];
  const logger = { info: (_o: object, m: string) => logs.push(m), warn: (_o: object, m: string) => logs.push(m), error: (_o: object, m: string) => logs.push(m) };
  const digests = new DigestSender({ db, registry, settings, clock, random: () => 0.5, mailer, workerId: 'w-digest', logger });
  const kept = async () => ({
    series: await db.collection(Collections.VICTIM_SERIES).countDocuments({ _id: seriesId as never }),
    cases: await db.collection(Collections.VICTIM_CASES).countDocuments({ seriesId }),
    digests: await db.collection(Collections.VICTIM_DIGESTS).countDocuments({ seriesId }),
  });
  return { registry, digests, mails, logs, kept, block: (g: Promise<void>) => (gate = g) };
}

test('an opt-out while a digest pass prepares the digest wins: nothing is sent and no digest record is re-created', async (t) => {
  const db = await database(t);
  if (!db) return;
  const s = await dueSeries(db, 'series-race');
  // The pass is paused after it counted (before it sends); the DELETE comes in meanwhile.
  const counts = s.registry.counts.bind(s.registry);
  let optOut: Promise<unknown> | undefined;
  s.registry.counts = async (...args: Parameters<typeof counts>) => {
    const c = await counts(...args);
    optOut ??= s.registry.remove('series-race');
    await waitFor(async () => (await s.kept()).series === 0 || undefined, { what: 'the registration removed' });
    return c;
  };
  assert.equal(await s.digests.runOnce(), 1, 'the pass took the series');
  assert.ok(optOut, 'the opt-out ran during the pass');
  assert.deepEqual(await optOut, { removed: true, cases: 1, digests: 0 });
  assert.equal(s.mails.length, 0, 'no digest was sent for a series that opted out');
  assert.deepEqual(await s.kept(), { series: 0, cases: 0, digests: 0 }, 'nothing is kept, no digest record re-created');
  assert.ok(s.logs.includes('series opted out during the digest pass; digest not sent'));
});

test('an opt-out while a digest is being sent returns only after the pass, and nothing the pass wrote is kept', async (t) => {
  const db = await database(t);
  if (!db) return;
  const s = await dueSeries(db, 'series-sending');
  let release!: () => void;
  s.block(new Promise<void>((r) => (release = r)));
  const pass = s.digests.runOnce();
  // The pass is inside the SMTP send when the DELETE comes.
  await waitFor(async () => (await db.collection('leases').countDocuments({ resource: 'digest:series-sending' })) === 1 || undefined, { what: 'the pass holding the lease' });
  let returned = false;
  const optOut = s.registry.remove('series-sending').then((r) => ((returned = true), r));
  await sleep(400);
  assert.equal(returned, false, 'the opt-out waits for the digest being sent');
  release();
  assert.equal(await pass, 1);
  // The pass finds the registration gone after sending and takes its own record back.
  assert.deepEqual(await optOut, { removed: true, cases: 1, digests: 0 });
  assert.equal(s.mails.length, 1, 'sent before the opt-out returned');
  assert.deepEqual(await s.kept(), { series: 0, cases: 0, digests: 0 });
  assert.equal(await s.digests.runOnce(), 0, 'nothing left to send');
});

test('an opt-out that cannot wait for a digest pass answers conflict; the registration is gone and a repeat removes the rest', async (t) => {
  const db = await database(t);
  if (!db) return;
  const s = await dueSeries(db, 'series-slow', { optOutWaitMs: 200 });
  let release!: () => void;
  s.block(new Promise<void>((r) => (release = r)));
  const pass = s.digests.runOnce();
  await waitFor(async () => (await db.collection('leases').countDocuments({ resource: 'digest:series-slow' })) === 1 || undefined, { what: 'the pass holding the lease' });
  await assert.rejects(s.registry.remove('series-slow'), (err: Error & { code?: string }) => err.code === 'HC_CONFLICT');
  assert.equal((await s.kept()).series, 0, 'the registration is removed at once');
  release();
  await pass;
  assert.deepEqual(await s.registry.remove('series-slow'), { removed: false, cases: 1, digests: 0 });
  assert.deepEqual(await s.kept(), { series: 0, cases: 0, digests: 0 });
});

test('a detection whose series opts out between the registration check and the insert leaves no tracked case', async (t) => {
  const db = await database(t);
  if (!db) return;
  const clock = new ManualClock();
  const other = new VictimRegistry(db, clock);
  await other.upsert('series-det', { intermediary: { email: 'desk@support.example' }, choice: 'daily', delayMs: 0, language: 'en' });
  // The detection's registration check is answered, then the opt-out runs to completion.
  let armed = true;
  const racing = intercepting(db, Collections.VICTIM_SERIES, 'findOne', async (findOne, args) => {
    if (!armed) return findOne(...args);
    armed = false;
    const found = await findOne(...args);
    await other.remove('series-det');
    return found;
  });
  const registry = new VictimRegistry(racing, clock);
  assert.equal(await registry.onMatched(matchedEvent('prov-v', 'det-1', { seriesId: 'series-det' }).data), 0, 'not tracked');
  assert.equal(armed, false, 'the opt-out ran in between');
  assert.equal(await db.collection(Collections.VICTIM_CASES).countDocuments({ seriesId: 'series-det' }), 0, 'no orphan tracked case');
});
