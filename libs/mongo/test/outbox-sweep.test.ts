import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { outboxEntry, OutboxRelay } from '@hashcheck/mongo';
import { outboxFixture } from './outbox-fixture';

const silent = { error: () => undefined, debug: () => undefined };

test('on start the relay sweeps every pending entry, however young, through the scan connection, and removes through its own', async (t) => {
  const f = await outboxFixture(t, 'outbox-sweep');
  if (!f) return;
  const { topic, producer, mongo, recorder } = f;
  const commands = (client: MongoClient): CommandStartedEvent[] => {
    const seen: CommandStartedEvent[] = [];
    client.on('commandStarted', (e) => seen.push(e));
    return seen;
  };
  const watched = async (): Promise<{ client: MongoClient; seen: CommandStartedEvent[] }> => {
    const client = new MongoClient(process.env.MONGODB_URI!, { maxPoolSize: 1, monitorCommands: true, retryWrites: false });
    await client.connect();
    t.after(() => client.close());
    return { client, seen: commands(client) };
  };
  const main = await watched();
  const scan = await watched();
  const mainSeen = main.seen;
  const scanSeen = scan.seen;

  const coll = mongo.db.collection<{ _id: string; outbox?: unknown[] }>('things');
  // Written a moment ago by a run that then crashed (no hint will come): one entry as written now
  // (the event as JSON text), one as written before that (the event as a sub-document).
  const legacy = { id: f.event(2).id, topic, event: f.event(2), carrier: {}, createdAt: new Date() };
  await coll.insertMany([{ _id: 'new', outbox: [outboxEntry(topic, f.event(1))] }, { _id: 'old', outbox: [legacy] }]);

  const relay = new OutboxRelay({ db: main.client.db(mongo.db.databaseName), scanDb: scan.client.db(mongo.db.databaseName), collections: ['things'], producer, logger: silent, intervalMs: 600_000 });
  relay.start();
  t.after(() => relay.stop());

  await recorder.waitForCount(topic, 2, 15_000);
  assert.deepEqual(f.published().sort(), [1, 2], 'both published by the first sweep, though younger than 10 s');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await coll.countDocuments({ 'outbox.0': { $exists: true } })) > 0) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual((await coll.find().sort({ _id: 1 }).toArray()).map((d) => d.outbox), [[], []], 'and removed');

  const on = (seen: CommandStartedEvent[], name: string) => seen.filter((e) => e.commandName === name && (e.command as Record<string, unknown>)[name] === 'things');
  assert.ok(on(scanSeen, 'find').length >= 1, 'the sweep read through the scan connection');
  assert.equal(on(scanSeen, 'update').length, 0, 'nothing is written through the scan connection');
  assert.ok(on(mainSeen, 'update').length >= 1, 'removal went through the relay\'s own connection');
  assert.equal(on(mainSeen, 'find').length, 0, 'the sweep did not read through the service\'s connection');
});
