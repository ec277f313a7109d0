import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { Topics } from '@hashcheck/events';
import { randomName } from '@hashcheck/testing';
import { buildApp, NotificationConfigSchema } from '@hashcheck/notification';
import { matchedEvent } from './test/helpers';
const prefix = `${randomName('dbg')}.`;
const config = loadConfig(NotificationConfigSchema, { KAFKA_BROKERS: process.env.KAFKA_BROKERS!, MONGODB_URI: process.env.MONGODB_URI!, MONGODB_DATABASE: randomName('dbg').replace(/-/g, '_'), KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'silent', NOTICE_WINDOW_MS: '600000', NOTICE_POLL_MS: process.env.POLL ?? '50' });
const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
await app.ready();
const events = Array.from({ length: 500 }, (_, i) => matchedEvent(`p${i % 10}`, `${prefix}-${i}`));
const t0 = Date.now();
await app.kafka.producer.publish(Topics.reportsMatched, events);
const items = app.mongo.db.collection('notice_items');
for (;;) {
  const n = await items.countDocuments({});
  console.log(((Date.now() - t0) / 1000).toFixed(1), 's', n);
  if (n >= 500 || Date.now() - t0 > 60_000) break;
  await new Promise((r) => setTimeout(r, 2000));
}
await app.mongo.db.dropDatabase();
await app.close();
