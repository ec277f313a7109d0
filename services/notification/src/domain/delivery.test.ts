import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelsFor, classifyHttpStatus, classifyNetworkError, classifySmtpError, currentChannel, decideAfterAttempt, smtpReplyCode } from './delivery';

const policies = {
  webhook: { baseMs: 100, capMs: 10_000, maxAttempts: 3 },
  email: { baseMs: 1_000, capMs: 60_000, maxAttempts: 2 },
};
const both = channelsFor({ webhookUrl: 'https://h.example.org/', webhookHasSecret: true, emails: ['abuse@example.org'] }, { smtpConfigured: true });

test('webhook before e-mail; reasons for every unusable channel', () => {
  assert.deepEqual(both.usable, ['webhook', 'email']);
  const noSecret = channelsFor({ webhookUrl: 'https://h.example.org/', webhookHasSecret: false, emails: [] }, { smtpConfigured: true });
  assert.deepEqual(noSecret.usable, []);
  assert.deepEqual(noSecret.unusable.map((u) => u.reason), ['webhook has no signing secret', 'no abuse e-mail address']);
  const refused = channelsFor({ webhookUrl: 'http://10.0.0.1/', webhookHasSecret: true, emails: ['a@example.org'] }, { smtpConfigured: false, webhookVerdict: () => 'private address' });
  assert.deepEqual(refused.usable, []);
  assert.deepEqual(refused.unusable.map((u) => u.reason), ['private address', 'SMTP is not configured']);
  assert.equal(currentChannel(both, ['webhook']), 'email');
  assert.equal(currentChannel(both, ['webhook', 'email']), undefined);
});

test('retriable failures retry with backoff until the channel limit, then fall back to e-mail', () => {
  const fail = { ok: false as const, retriable: true, reason: 'HTTP 503' };
  const s1 = decideAfterAttempt({ channel: 'webhook', attemptsOnChannel: 1, result: fail, availability: both, givenUp: [], policies, random: () => 0.5 });
  assert.deepEqual(s1, { kind: 'retry', channel: 'webhook', delayMs: 50 });
  const s2 = decideAfterAttempt({ channel: 'webhook', attemptsOnChannel: 2, result: fail, availability: both, givenUp: [], policies, random: () => 0.5 });
  assert.deepEqual(s2, { kind: 'retry', channel: 'webhook', delayMs: 100 });
  const s3 = decideAfterAttempt({ channel: 'webhook', attemptsOnChannel: 3, result: fail, availability: both, givenUp: [], policies });
  assert.deepEqual(s3, { kind: 'fallback', channel: 'webhook', reason: 'HTTP 503 (gave up after 3 attempts)', next: 'email' });
});

test('a permanent failure falls back at once; with nothing left the notice is undeliverable', () => {
  const gone = { ok: false as const, retriable: false, reason: 'HTTP 410' };
  assert.deepEqual(decideAfterAttempt({ channel: 'webhook', attemptsOnChannel: 1, result: gone, availability: both, givenUp: [], policies }), { kind: 'fallback', channel: 'webhook', reason: 'HTTP 410', next: 'email' });
  const smtp = { ok: false as const, retriable: false, reason: 'SMTP 550: no such user' };
  assert.deepEqual(decideAfterAttempt({ channel: 'email', attemptsOnChannel: 1, result: smtp, availability: both, givenUp: ['webhook'], policies }), { kind: 'undeliverable', channel: 'email', reason: 'SMTP 550: no such user' });
  assert.deepEqual(decideAfterAttempt({ channel: 'email', attemptsOnChannel: 1, result: { ok: true }, availability: both, givenUp: ['webhook'], policies }), { kind: 'sent' });
});

test('HTTP, network and SMTP outcomes are classified', () => {
  assert.deepEqual(classifyHttpStatus(202), { ok: true });
  for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal((classifyHttpStatus(s) as { retriable: boolean }).retriable, true, String(s));
  for (const s of [301, 302, 400, 401, 403, 404, 410, 422]) assert.equal((classifyHttpStatus(s) as { retriable: boolean }).retriable, false, String(s));
  const refused = Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
  assert.deepEqual(classifyNetworkError(refused), { ok: false, retriable: true, reason: 'ECONNREFUSED: fetch failed: connect ECONNREFUSED 127.0.0.1:9' });
  assert.equal((classifyNetworkError(Object.assign(new Error('refused'), { code: 'HC_SSRF_REFUSED' })) as { retriable: boolean }).retriable, false);
  assert.equal((classifySmtpError(Object.assign(new Error('mailbox full'), { responseCode: 452 })) as { retriable: boolean }).retriable, true);
  assert.equal((classifySmtpError(Object.assign(new Error('no such user'), { responseCode: 550 })) as { retriable: boolean }).retriable, false);
  assert.equal((classifySmtpError(Object.assign(new Error('Connection refused'), { code: 'ECONNECTION' })) as { retriable: boolean }).retriable, true);
  assert.equal(smtpReplyCode('250 2.0.0 Ok: queued as 123'), 250);
  assert.equal(smtpReplyCode(undefined), undefined);
});
