import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@hashcheck/config';
import { Topics } from '@hashcheck/events';
import { consumerPlugin, EventConsumer } from '@hashcheck/kafka';
import { createServiceApp, groupId, ServiceSettingsSchema } from '@hashcheck/runtime';
import { infra, randomName } from '@hashcheck/testing';

// Leaving a consumer group waits for the fetch in flight. A service with several consumers that
// left one after another took seconds per consumer to shut down (enforcement: 14 s with three),
// close to an orchestrator's kill; they must leave together.
test('on close, all of a service\'s consumers leave their groups at once, before the producer and database close', async (t) => {
  const env = infra(t);
  if (!env) return;
  const config = loadConfig(ServiceSettingsSchema, {
    KAFKA_BROKERS: env.brokers, MONGODB_URI: env.mongoUri, MONGODB_DATABASE: randomName('close').replace(/-/g, '_'),
    KAFKA_TOPIC_PREFIX: `${randomName('close')}.`, LOG_LEVEL: 'silent',
  });
  const app = await createServiceApp({ service: 'close-test', description: 'closing', config });
  const events: string[] = [];
  const original = EventConsumer.prototype.stop;
  EventConsumer.prototype.stop = async function stop(this: EventConsumer): Promise<void> {
    events.push(`stop ${this.options.groupId}`);
    await original.call(this);
    events.push(`left ${this.options.groupId}`);
  };
  t.after(() => { EventConsumer.prototype.stop = original; });
  const producerDisconnect = app.kafka.producer.disconnect.bind(app.kafka.producer);
  app.kafka.producer.disconnect = async () => { events.push('producer'); await producerDisconnect(); };
  const topics = [Topics.reportsSubmitted, Topics.reportsAccepted, Topics.noticesSent];
  for (const [i, topic] of topics.entries()) {
    await app.register(consumerPlugin, { name: `c${i}`, groupId: groupId(config, 'close-test', `c${i}`), topics: [topic], handler: async () => undefined });
  }
  await app.ready();

  // The lag monitor reads from the broker in the background; one read starts as it is stopped.
  const lag = app.kafka.lag;
  const stopLag = lag.stop.bind(lag);
  let lagRead: Promise<unknown> | undefined;
  lag.stop = async () => {
    lagRead = lag.refresh().catch(() => undefined);
    await stopLag();
  };
  await app.close();
  await lagRead;
  const stops = events.filter((e) => e.startsWith('stop')).length;
  assert.equal(stops, topics.length, 'each consumer stopped once');
  const firstLeft = events.findIndex((e) => e.startsWith('left'));
  assert.deepEqual(events.slice(0, topics.length).map((e) => e.split(' ')[0]), topics.map(() => 'stop'), `every consumer began leaving before the first had left: ${events.join(', ')}`);
  assert.ok(firstLeft >= topics.length);
  assert.equal(events.at(-1), 'producer', 'the producer disconnects after every consumer has left');
  // Nothing reconnects after close: a connection left open keeps the process from exiting.
  await new Promise((r) => setTimeout(r, 500));
  const brokerPorts = new Set(env.brokers.split(',').map((b) => Number(b.split(':').at(-1))));
  const handles = (process as unknown as { _getActiveHandles: () => Array<{ remotePort?: number }> })._getActiveHandles();
  assert.deepEqual(handles.filter((h) => h.remotePort !== undefined && brokerPorts.has(h.remotePort)).map((h) => h.remotePort), [], 'no connection to the broker is left open');
});
