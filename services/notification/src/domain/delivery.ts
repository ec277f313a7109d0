import { backoffDelayMs, type BackoffPolicy } from './backoff';

/**
 * Channel choice and the decision after each delivery attempt, as plain functions: the worker
 * performs the I/O and records whatever these return.
 */

export const ChannelName = { WEBHOOK: 'webhook', EMAIL: 'email' } as const;
export type ChannelValue = (typeof ChannelName)[keyof typeof ChannelName];

/** Webhook first (machine-readable, immediate), e-mail as the fallback. */
export const CHANNEL_ORDER: readonly ChannelValue[] = [ChannelName.WEBHOOK, ChannelName.EMAIL];

export interface ProviderContact {
  webhookUrl?: string;
  webhookHasSecret: boolean;
  emails: readonly string[];
}

export interface ChannelAvailability {
  usable: ChannelValue[];
  unusable: Array<{ channel: ChannelValue; reason: string }>;
}

/** Which channels can carry a notice for this provider, and why the others cannot. */
export function channelsFor(contact: ProviderContact, options: { smtpConfigured: boolean; webhookVerdict?: (url: string) => string | undefined }): ChannelAvailability {
  const usable: ChannelValue[] = [];
  const unusable: ChannelAvailability['unusable'] = [];
  if (!contact.webhookUrl) unusable.push({ channel: ChannelName.WEBHOOK, reason: 'no webhook configured' });
  else if (!contact.webhookHasSecret) unusable.push({ channel: ChannelName.WEBHOOK, reason: 'webhook has no signing secret' });
  else {
    const refused = options.webhookVerdict?.(contact.webhookUrl);
    if (refused) unusable.push({ channel: ChannelName.WEBHOOK, reason: refused });
    else usable.push(ChannelName.WEBHOOK);
  }
  if (contact.emails.length === 0) unusable.push({ channel: ChannelName.EMAIL, reason: 'no abuse e-mail address' });
  else if (!options.smtpConfigured) unusable.push({ channel: ChannelName.EMAIL, reason: 'SMTP is not configured' });
  else usable.push(ChannelName.EMAIL);
  return { usable: CHANNEL_ORDER.filter((c) => usable.includes(c)), unusable };
}

/** The channel to use now: the first usable one that has not been given up on this notice. */
export function currentChannel(availability: ChannelAvailability, givenUp: readonly ChannelValue[]): ChannelValue | undefined {
  return availability.usable.find((c) => !givenUp.includes(c));
}

export type AttemptResult = { ok: true } | { ok: false; retriable: boolean; reason: string };

export type Step =
  | { kind: 'sent' }
  | { kind: 'retry'; channel: ChannelValue; delayMs: number }
  /** `notices.failed` (final for this channel), then carry on with `next`. */
  | { kind: 'fallback'; channel: ChannelValue; reason: string; next: ChannelValue }
  /** `notices.failed` with undeliverable: no channel is left. */
  | { kind: 'undeliverable'; channel: ChannelValue; reason: string };

export interface DecideInput {
  channel: ChannelValue;
  /** Attempts made on this channel for this notice, including the one just made. */
  attemptsOnChannel: number;
  result: AttemptResult;
  availability: ChannelAvailability;
  /** Channels already given up before this attempt. */
  givenUp: readonly ChannelValue[];
  policies: Readonly<Record<ChannelValue, BackoffPolicy>>;
  random?: () => number;
}

export function decideAfterAttempt(input: DecideInput): Step {
  const { channel, result } = input;
  if (result.ok) return { kind: 'sent' };
  const policy = input.policies[channel];
  if (result.retriable && input.attemptsOnChannel < policy.maxAttempts) {
    return { kind: 'retry', channel, delayMs: backoffDelayMs(input.attemptsOnChannel, policy, input.random) };
  }
  const reason = result.retriable ? `${result.reason} (gave up after ${input.attemptsOnChannel} attempt${input.attemptsOnChannel === 1 ? '' : 's'})` : result.reason;
  const next = currentChannel(input.availability, [...input.givenUp, channel]);
  return next ? { kind: 'fallback', channel, reason, next } : { kind: 'undeliverable', channel, reason };
}

/**
 * HTTP answers: 2xx delivered. 408, 425, 429 and 5xx are worth retrying. Redirects are not followed
 * (they could point anywhere, past the address check), so they fail like other 4xx: the provider
 * has to fix its configuration, and e-mail takes over meanwhile.
 */
export function classifyHttpStatus(status: number): AttemptResult {
  if (status >= 200 && status < 300) return { ok: true };
  if (status === 408 || status === 425 || status === 429 || status >= 500) return { ok: false, retriable: true, reason: `HTTP ${status}` };
  if (status >= 300 && status < 400) return { ok: false, retriable: false, reason: `HTTP ${status}: redirects are not followed` };
  return { ok: false, retriable: false, reason: `HTTP ${status}` };
}

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_ABORTED',
  // nodemailer's own codes for connection-level failures
  'ECONNECTION', 'ESOCKET', 'EDNS', 'ETLS', 'EAUTH', 'EPROTOCOL',
]);

/** Network-level failure of a webhook call (no HTTP answer). */
export function classifyNetworkError(err: unknown): AttemptResult {
  const { code, message } = errorParts(err);
  if (code === 'HC_SSRF_REFUSED') return { ok: false, retriable: false, reason: message };
  if (code && TRANSIENT_NETWORK_CODES.has(code)) return { ok: false, retriable: true, reason: `${code}: ${message}` };
  // Unknown network trouble is retried: giving up early would cost a provider its notice.
  return { ok: false, retriable: true, reason: code ? `${code}: ${message}` : message };
}

/** SMTP: a 4xx reply is temporary, a 5xx reply permanent; connection trouble is retried. */
export function classifySmtpError(err: unknown): AttemptResult {
  const { code, message } = errorParts(err);
  const responseCode = typeof (err as { responseCode?: unknown })?.responseCode === 'number' ? (err as { responseCode: number }).responseCode : undefined;
  if (responseCode !== undefined) {
    if (responseCode >= 500) return { ok: false, retriable: false, reason: `SMTP ${responseCode}: ${message}` };
    if (responseCode >= 400) return { ok: false, retriable: true, reason: `SMTP ${responseCode}: ${message}` };
  }
  if (code === 'EENVELOPE') return { ok: false, retriable: false, reason: `${code}: ${message}` };
  return { ok: false, retriable: true, reason: code ? `${code}: ${message}` : message };
}

function errorParts(err: unknown): { code?: string; message: string } {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const cause = e.cause as { code?: unknown; message?: unknown } | undefined;
  // undici wraps the socket error: "fetch failed" with the real code on `cause`.
  const code = typeof e.code === 'string' ? e.code : typeof cause?.code === 'string' ? cause.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const detail = typeof cause?.message === 'string' && cause.message !== message ? `${message}: ${cause.message}` : message;
  return code === undefined ? { message: detail.slice(0, 500) } : { code, message: detail.slice(0, 500) };
}

/** The three-digit code an SMTP server answered with, e.g. 250 from "250 2.0.0 Ok: queued as X". */
export function smtpReplyCode(response: string | undefined): number | undefined {
  const m = /^(\d{3})\b/.exec(response ?? '');
  return m ? Number(m[1]) : undefined;
}
