import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { App } from '@hashcheck/http';
import { consumerPlugin } from '@hashcheck/kafka';
import type { OutboxHint } from '@hashcheck/mongo';
import { providersPlugin } from '@hashcheck/providers';
import { createServiceApp, groupId } from '@hashcheck/runtime';
import { Mailer } from './channels/email';
import { WebhookClient } from './channels/webhook';
import type { Resolver } from './channels/safe-lookup';
import type { NotificationConfig } from './config';
import { CONSUMED_TOPICS, notificationHandler } from './consumers/handler';
import { systemClock, type Clock } from './domain/clock';
import { NoticeInbox } from './notices/inbox';
import { NoticeSealer } from './notices/sealer';
import { NoticeSender } from './notices/sender';
import { workersPlugin } from './plugins/workers';
import { noticeRoutes } from './routes/notices';
import { victimSeriesRoutes } from './routes/victim-series';
import { resolveSettings, type NotificationSettings } from './settings';
import { Collections, INDEXES } from './store/collections';
import { DigestSender } from './victims/digests';
import { VictimRegistry } from './victims/registry';

export const SERVICE = 'notification';

export interface BuildOptions {
  logger?: Logger;
  /** Time source for windows, leases, backoff and deadlines; tests may pass their own. */
  clock?: Clock;
  /** Jitter source for backoff. */
  random?: () => number;
  /** DNS resolver behind the SSRF-guarded lookup (tests of DNS rebinding). */
  resolver?: Resolver;
}

declare module 'fastify' {
  interface FastifyInstance {
    notification: {
      settings: NotificationSettings;
      inbox: NoticeInbox;
      sealer: NoticeSealer;
      sender: NoticeSender;
      victims: VictimRegistry;
      digests: DigestSender;
    };
  }
}

/** Sends takedown notices to hosting providers with proof of delivery, and opt-in victim digests. */
export async function buildApp(config: NotificationConfig, options: BuildOptions = {}): Promise<App> {
  // Bad settings stop the service before it connects to anything.
  const settings = resolveSettings(config);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;

  const app = await createServiceApp({
    service: SERVICE,
    description: 'Sends takedown notices to hosting providers with proof of delivery, and opt-in victim digests.',
    config,
    indexes: INDEXES,
    outboxCollections: [Collections.STEPS],
    ...(options.logger ? { logger: options.logger } : {}),
  });
  if (!settings.smtp) app.log.warn('SMTP_HOST is not set: the e-mail channel is unusable, notices can only go by webhook');
  if (settings.secretKeys.length === 0) app.log.warn('PROVIDER_SECRET_KEY is not set: webhook secrets cannot be decrypted, notices can only go by e-mail');
  if (settings.apiKeys.length === 0) app.log.warn('NOTIFICATION_API_KEYS is empty: the HTTP API refuses every request');

  await app.register(providersPlugin, { service: SERVICE });

  const db = app.mongo.db;
  const workerId = `${SERVICE}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const webhook = new WebhookClient({ ...settings.webhook, ...(options.resolver ? { resolver: options.resolver } : {}) });
  const mailer = settings.smtp ? new Mailer(settings.smtp) : undefined;
  // Writers name the step they wrote (and hand over its entries): a notify() without a hint makes
  // the relay's next pass scan the whole outbox collection, which on FerretDB reads every document.
  const notifyOutbox = (hint: OutboxHint): void => app.outbox.notify(hint);
  const victims = new VictimRegistry(db, clock, { workerId, leaseMs: settings.leaseMs });
  const inbox = new NoticeInbox(db, settings.grouping, clock, notifyOutbox);
  const sealer = new NoticeSealer(db, { ...settings.grouping, leaseMs: settings.leaseMs }, clock, workerId);
  const sender = new NoticeSender({
    db, settings, clock, random, providers: app.providers, webhook, mailer, workerId, logger: app.log, notifyOutbox,
    onSent: (_notice, caseIds, at) => victims.onNoticeSent(caseIds, at),
  });
  const digests = new DigestSender({ db, registry: victims, settings, clock, random, mailer, workerId, logger: app.log });
  app.decorate('notification', { settings, inbox, sealer, sender, victims, digests });

  await app.register(workersPlugin, {
    tasks: [
      {
        name: 'seal',
        intervalMs: settings.pollMs,
        run: async () => {
          // A sealed notice is due at once: send it now rather than at the send loop's next poll.
          if ((await sealer.sealDue()).length > 0) app.workers.kick('send');
        },
      },
      { name: 'send', intervalMs: settings.pollMs, run: (stop) => sender.runOnce(stop) },
      { name: 'digests', intervalMs: settings.digestPollMs, run: (stop) => digests.runOnce(stop) },
    ],
    onClose: async () => {
      await webhook.close();
      mailer?.close();
    },
  });

  await app.register(consumerPlugin, {
    name: 'notices',
    groupId: groupId(config, SERVICE, 'notices'),
    topics: CONSUMED_TOPICS,
    handler: notificationHandler({ inbox, victims, kick: () => app.workers.kick('seal') }),
  });

  await app.register(noticeRoutes, { db, keys: settings.apiKeys });
  await app.register(victimSeriesRoutes, { db, keys: settings.apiKeys, registry: victims, defaultLanguage: settings.victimLanguage });
  return app;
}

export { NotificationConfigSchema } from './config';
export type { NotificationConfig } from './config';
export { verifySignature, SIGNATURE_HEADER, IDEMPOTENCY_HEADER } from './domain/signature';
