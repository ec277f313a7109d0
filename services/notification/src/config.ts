import { Type, type Static } from '@hashcheck/config';
import { ServiceSettings } from '@hashcheck/runtime';

const Ms = (def: number, description: string, minimum = 0) => Type.Integer({ minimum, default: def, description });

export const NotificationConfigSchema = Type.Object({
  ...ServiceSettings,

  // Grouping and the send loop
  NOTICE_WINDOW_MS: Ms(60_000, 'how long the first matched item for a provider waits for others before the notice goes out'),
  RENOTICE_WINDOW_MS: Ms(0, 'wait before a re-notice request goes out (enforcement grouped it already)'),
  NOTICE_MAX_ITEMS: Type.Integer({ minimum: 1, maximum: 1000, default: 1000, description: 'items per notice; more are split over several notices' }),
  NOTICE_POLL_MS: Ms(1_000, 'how often due items and notices are looked for', 10),
  NOTICE_LEASE_MS: Ms(120_000, 'how long a worker owns a notice while sending; must exceed the webhook and SMTP timeouts', 1_000),
  NOTICE_SEND_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  NOTICE_LANGUAGE: Type.Union([Type.Literal('auto'), Type.Literal('nl'), Type.Literal('en')], { default: 'auto', description: 'auto: Dutch for NL/BE providers, English otherwise' }),
  NOTICE_RESPOND_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'where providers confirm removal or dispute (shown in every notice)' })),
  PROVIDER_LOOKUP_ATTEMPTS: Type.Integer({ minimum: 1, default: 5, description: 'tries while a provider is not (yet) in the local registry view, before the notice is undeliverable' }),
  PROVIDER_LOOKUP_MIN_MS: Ms(600_000, 'and at least this long after the notice was sealed: the tries alone can all pass within seconds, and a provider whose registry event is held up (its writer restarting) would make the notice undeliverable', 0),

  // Deadlines
  DEADLINE_DEFAULT: Type.String({ default: '24h', description: 'removal term when the provider category has none, e.g. 24h' }),
  DEADLINE_TERMS: Type.String({ default: '', description: 'per provider category, e.g. hosting-nl=24h,regulated-1h=1h' }),

  // Webhook channel
  WEBHOOK_TIMEOUT_MS: Ms(10_000, 'whole request: connect, headers and body', 100),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, default: 8 }),
  WEBHOOK_BACKOFF_BASE_MS: Ms(2_000, 'first retry ceiling; doubles per failure', 1),
  WEBHOOK_BACKOFF_CAP_MS: Ms(900_000, 'retry ceiling cap', 1),
  WEBHOOK_ALLOW_HTTP: Type.Boolean({ default: false, description: 'allow plain http:// webhook URLs (tests, closed networks)' }),
  WEBHOOK_ALLOWED_ADDRESSES: Type.String({ default: '', description: 'comma-separated IPs/CIDRs exempt from the SSRF guard, e.g. 127.0.0.1/32' }),
  PROVIDER_SECRET_KEY: Type.Optional(Type.String({ minLength: 1, description: '[keyId:]32-byte key(s), comma-separated; decrypts provider webhook secrets' })),

  // E-mail channel
  SMTP_HOST: Type.Optional(Type.String({ minLength: 1, description: 'without it the e-mail channel is unusable' })),
  SMTP_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
  SMTP_SECURE: Type.Boolean({ default: false, description: 'TLS from the first byte (port 465); otherwise STARTTLS when offered' }),
  SMTP_REQUIRE_TLS: Type.Boolean({ default: true, description: 'refuse to send without STARTTLS (ignored when SMTP_SECURE)' }),
  SMTP_TLS_REJECT_UNAUTHORIZED: Type.Boolean({ default: true }),
  SMTP_USER: Type.Optional(Type.String({ minLength: 1 })),
  SMTP_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  SMTP_FROM: Type.String({ default: 'HashCheck <notices@hashcheck.invalid>' }),
  SMTP_REPLY_TO: Type.Optional(Type.String({ minLength: 3 })),
  SMTP_TIMEOUT_MS: Ms(30_000, 'connection, greeting and socket timeout', 100),
  SMTP_MESSAGE_ID_DOMAIN: Type.String({ default: 'hashcheck.invalid', pattern: '^[A-Za-z0-9.-]+$' }),
  EMAIL_MAX_ATTEMPTS: Type.Integer({ minimum: 1, default: 6 }),
  EMAIL_BACKOFF_BASE_MS: Ms(30_000, 'first retry ceiling; doubles per failure', 1),
  EMAIL_BACKOFF_CAP_MS: Ms(3_600_000, 'retry ceiling cap', 1),

  // Victim digests
  VICTIM_DEFAULT_LANGUAGE: Type.Union([Type.Literal('nl'), Type.Literal('en')], { default: 'nl' }),
  VICTIM_DIGEST_POLL_MS: Ms(10_000, 'how often due victim digests are looked for (their delays are hours)', 10),

  // HTTP API
  NOTIFICATION_API_KEYS: Type.String({ default: '', description: 'name:scope[+scope]:sha256hex, comma-separated; scopes case-officer, admin' }),
});

export type NotificationConfig = Static<typeof NotificationConfigSchema>;
