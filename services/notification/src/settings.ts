import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { parseSecretKeys, type SecretKey } from '@hashcheck/providers';
import type { NotificationConfig } from './config';
import { parseApiKeys, type ApiKeyEntry } from './domain/api-keys';
import type { BackoffPolicy } from './domain/backoff';
import type { DeadlinePolicy } from './domain/deadline';
import type { ChannelValue } from './domain/delivery';
import { parseDuration, parseDurationMap } from './domain/duration';
import type { GroupingPolicy } from './domain/grouping';
import { parseAllowList, type AllowedRange } from './domain/ssrf';
import type { LanguageValue } from './domain/templates';

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  rejectUnauthorized: boolean;
  user?: string;
  password?: string;
  timeoutMs: number;
}

/** Everything the workers need, parsed once at boot; a bad value stops the service naming the variable. */
export interface NotificationSettings {
  grouping: GroupingPolicy;
  pollMs: number;
  digestPollMs: number;
  leaseMs: number;
  concurrency: number;
  language: LanguageValue | 'auto';
  victimLanguage: LanguageValue;
  respondTo?: string;
  providerLookupAttempts: number;
  /** Shortest time a notice waits for its provider to appear in the registry view (PROVIDER_LOOKUP_MIN_MS). */
  providerLookupMinMs: number;
  deadlines: DeadlinePolicy;
  backoff: Record<ChannelValue, BackoffPolicy>;
  webhook: { timeoutMs: number; allowHttp: boolean; allowList: AllowedRange[] };
  secretKeys: SecretKey[];
  smtp?: SmtpSettings;
  mail: { from: string; replyTo?: string; messageIdDomain: string };
  apiKeys: ApiKeyEntry[];
}

function invalid(variable: string, reason: string): never {
  throw new HashCheckError(ErrorCode.CONFIG_INVALID, `invalid configuration: ${variable} ${reason}`, { details: [`${variable} ${reason}`] });
}

function guard<T>(variable: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if ((err as { code?: string }).code === ErrorCode.CONFIG_INVALID) throw err;
    return invalid(variable, (err as Error).message);
  }
}

export function resolveSettings(config: NotificationConfig): NotificationSettings {
  const defaultTerm = parseDuration(config.DEADLINE_DEFAULT);
  if (defaultTerm === undefined || defaultTerm <= 0) invalid('DEADLINE_DEFAULT', `"${config.DEADLINE_DEFAULT}" is not a duration like 24h`);
  if (config.WEBHOOK_BACKOFF_CAP_MS < config.WEBHOOK_BACKOFF_BASE_MS) invalid('WEBHOOK_BACKOFF_CAP_MS', 'must be at least WEBHOOK_BACKOFF_BASE_MS');
  if (config.EMAIL_BACKOFF_CAP_MS < config.EMAIL_BACKOFF_BASE_MS) invalid('EMAIL_BACKOFF_CAP_MS', 'must be at least EMAIL_BACKOFF_BASE_MS');
  const slowest = Math.max(config.WEBHOOK_TIMEOUT_MS, config.SMTP_TIMEOUT_MS * 3);
  if (config.NOTICE_LEASE_MS <= slowest) invalid('NOTICE_LEASE_MS', `must exceed the slowest send (${slowest} ms), or two workers could send the same notice`);
  if ((config.SMTP_USER === undefined) !== (config.SMTP_PASSWORD === undefined)) invalid('SMTP_PASSWORD', 'and SMTP_USER must be set together');

  return {
    grouping: { windowMs: config.NOTICE_WINDOW_MS, renoticeWindowMs: config.RENOTICE_WINDOW_MS, maxItemsPerNotice: config.NOTICE_MAX_ITEMS },
    pollMs: config.NOTICE_POLL_MS,
    digestPollMs: config.VICTIM_DIGEST_POLL_MS,
    leaseMs: config.NOTICE_LEASE_MS,
    concurrency: config.NOTICE_SEND_CONCURRENCY,
    language: config.NOTICE_LANGUAGE,
    victimLanguage: config.VICTIM_DEFAULT_LANGUAGE,
    ...(config.NOTICE_RESPOND_URL ? { respondTo: config.NOTICE_RESPOND_URL } : {}),
    providerLookupAttempts: config.PROVIDER_LOOKUP_ATTEMPTS,
    providerLookupMinMs: config.PROVIDER_LOOKUP_MIN_MS,
    deadlines: { defaultTermMs: defaultTerm, termsByCategory: guard('DEADLINE_TERMS', () => parseDurationMap(config.DEADLINE_TERMS)) },
    backoff: {
      webhook: { baseMs: config.WEBHOOK_BACKOFF_BASE_MS, capMs: config.WEBHOOK_BACKOFF_CAP_MS, maxAttempts: config.WEBHOOK_MAX_ATTEMPTS },
      email: { baseMs: config.EMAIL_BACKOFF_BASE_MS, capMs: config.EMAIL_BACKOFF_CAP_MS, maxAttempts: config.EMAIL_MAX_ATTEMPTS },
    },
    webhook: {
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowHttp: config.WEBHOOK_ALLOW_HTTP,
      allowList: guard('WEBHOOK_ALLOWED_ADDRESSES', () => parseAllowList(config.WEBHOOK_ALLOWED_ADDRESSES)),
    },
    secretKeys: config.PROVIDER_SECRET_KEY ? guard('PROVIDER_SECRET_KEY', () => parseSecretKeys(config.PROVIDER_SECRET_KEY!)) : [],
    ...(config.SMTP_HOST
      ? {
          smtp: {
            host: config.SMTP_HOST,
            port: config.SMTP_PORT,
            secure: config.SMTP_SECURE,
            requireTls: config.SMTP_REQUIRE_TLS,
            rejectUnauthorized: config.SMTP_TLS_REJECT_UNAUTHORIZED,
            ...(config.SMTP_USER ? { user: config.SMTP_USER } : {}),
            ...(config.SMTP_PASSWORD ? { password: config.SMTP_PASSWORD } : {}),
            timeoutMs: config.SMTP_TIMEOUT_MS,
          },
        }
      : {}),
    mail: { from: config.SMTP_FROM, ...(config.SMTP_REPLY_TO ? { replyTo: config.SMTP_REPLY_TO } : {}), messageIdDomain: config.SMTP_MESSAGE_ID_DOMAIN },
    apiKeys: guard('NOTIFICATION_API_KEYS', () => parseApiKeys(config.NOTIFICATION_API_KEYS)),
  };
}
