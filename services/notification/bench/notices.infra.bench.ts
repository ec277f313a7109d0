/**
 * End-to-end notice throughput against the real broker and database: N matched reports for P
 * providers (half by webhook, half by e-mail), from publishing to every notice being received by
 * a local webhook receiver or SMTP server. Also the cost of building one 1000-item notice.
 * Prints figures; the last line is the harness's JSON. Needs KAFKA_BROKERS and MONGODB_URI.
 */
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { Topics } from '@hashcheck/events';
import { randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { buildApp, NotificationConfigSchema } from '@hashcheck/notification';
import { composeMail } from '../src/channels/email';
import { webhookBody, type NoticeContent } from '../src/domain/payload';
import { signatureHeader } from '../src/domain/signature';
import { renderNoticeEmail } from '../src/domain/templates';
import { matchedEvent, providerEvent, SECRET_KEY_HEX, startReceiver, startSmtp } from '../test/helpers';

const N = Number(process.env.BENCH_NOTICE_ITEMS ?? 1000);
const P = Number(process.env.BENCH_NOTICE_PROVIDERS ?? 10);
const WINDOW_MS = 500;
const results: Array<{ name: string; value: number; unit: string }> = [];

// 1. Building one notice of 1000 items (no I/O).
{
  const items = Array.from({ length: 1000 }, (_, i) => ({ reportId: `p:${i}`, caseKey: 'a'.repeat(64), caseId: `${'a'.repeat(64)}.${i}`, url: `https://files.example/gallery/${i}/image-${i}.jpg?id=${i}`, deadlineAt: new Date() }));
  const content: NoticeContent = { noticeId: '6f1c1a52-3c1e-5a7e-9b4d-2f0f3e8a9c61', kind: 'initial', provider: { id: 'p', name: 'P B.V.' }, sentAt: new Date(), items };
  const reps = 20;
  let t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const body = webhookBody(content);
    signatureHeader('secret', body, new Date());
  }
  const webhookMs = (performance.now() - t0) / reps;
  t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < reps; i++) {
    const mail = renderNoticeEmail(content, 'nl');
    const raw = await composeMail({ from: 'HashCheck <n@x.invalid>', to: ['abuse@p.example'], subject: mail.subject, text: mail.text, html: mail.html, messageId: '<x@y>', date: new Date(), attachments: [{ filename: mail.csvFilename, content: mail.csv, contentType: 'text/csv; charset=utf-8' }] });
    bytes = raw.length;
  }
  const mailMs = (performance.now() - t0) / reps;
  console.log(`1000-item notice: webhook body + signature ${webhookMs.toFixed(2)} ms; e-mail (render + compose, ${(bytes / 1024).toFixed(0)} KiB) ${mailMs.toFixed(1)} ms`);
  results.push({ name: 'notification: build+sign 1000-item webhook notice', value: Number(webhookMs.toFixed(3)), unit: 'ms' });
  results.push({ name: 'notification: render+compose 1000-item e-mail notice', value: Number(mailMs.toFixed(2)), unit: 'ms' });
}

// 2. End to end through Kafka, MongoDB, the workers and the channels.
const brokers = process.env.KAFKA_BROKERS;
const mongoUri = process.env.MONGODB_URI;
if (!brokers || !mongoUri) {
  console.log('end-to-end part skipped: needs KAFKA_BROKERS and MONGODB_URI (npm run bench starts the stack for *.infra.bench.ts)');
} else {
  const smtp = await startSmtp();
  const receiver = await startReceiver('bench-secret');
  const prefix = `${randomName('bench')}.`;
  const config = loadConfig(NotificationConfigSchema, {
    KAFKA_BROKERS: brokers,
    MONGODB_URI: mongoUri,
    MONGODB_DATABASE: randomName('bench').replace(/-/g, '_'),
    KAFKA_TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    NOTICE_WINDOW_MS: String(WINDOW_MS),
    NOTICE_POLL_MS: '200',
    OUTBOX_POLL_MS: '200',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
    PROVIDER_SECRET_KEY: `k1:${SECRET_KEY_HEX}`,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    SMTP_REQUIRE_TLS: 'false',
  });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  await app.ready();
  const recorder = await new TopicRecorder(brokers).start([prefix + Topics.noticesSent]);
  try {
    const providers = Array.from({ length: P }, (_, i) => (i % 2 === 0
      ? providerEvent({ id: `bench-p${i}`, webhook: { url: receiver.url } }, 'bench-secret')
      : providerEvent({ id: `bench-p${i}`, abuseContacts: [`abuse@bench-p${i}.example`] })));
    await app.kafka.producer.publish(Topics.providers, providers);
    await waitFor(() => providers.every((p) => app.providers.get(p.data.id)), { timeoutMs: 60_000, what: 'providers' });

    const events = Array.from({ length: N }, (_, i) => matchedEvent(`bench-p${i % P}`, `bench-${prefix}-${i}`));
    const t0 = Date.now();
    for (let i = 0; i < events.length; i += 200) await app.kafka.producer.publish(Topics.reportsMatched, events.slice(i, i + 200));
    const published = Date.now() - t0;
    const itemsDelivered = (): number => recorder.on(prefix + Topics.noticesSent).reduce((n, m) => n + m.json<{ data: { items: unknown[] } }>().data.items.length, 0);
    await waitFor(() => (itemsDelivered() >= N ? true : undefined), { timeoutMs: 300_000, intervalMs: 100, what: `${N} items in notices.sent` });
    const total = Date.now() - t0;
    const notices = recorder.on(prefix + Topics.noticesSent).length;
    const lastReceived = Math.max(...receiver.requests.map((r) => r.at.getTime()), ...smtp.mails.map((m) => m.at.getTime())) - t0;
    console.log(`${N} matched reports for ${P} providers: published in ${published} ms; all ${notices} notices received after ${lastReceived} ms, all notices.sent seen after ${total} ms (window ${WINDOW_MS} ms)`);
    console.log(`  webhook requests ${receiver.requests.length}, e-mails ${smtp.mails.length}`);
    results.push({ name: `notification: ${N} reports -> notices received (${P} providers, ${WINDOW_MS} ms window)`, value: lastReceived, unit: 'ms' });
    results.push({ name: 'notification: end-to-end item throughput (incl. window)', value: Math.round((N / total) * 1000), unit: 'items/s' });
    results.push({ name: 'notification: notices for the batch', value: notices, unit: 'notices' });
  } finally {
    await recorder.stop();
    await app.close();
    await receiver.close();
    await smtp.close();
  }
}
console.log(JSON.stringify({ results }));
