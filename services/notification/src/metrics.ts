import { Attr, counter, histogram, lazyInstruments, Metric } from '@hashcheck/telemetry';
import { NoticeState, type NoticeDocument, type StepDocument } from './store/collections';

const instruments = lazyInstruments((m) => ({
  sent: counter(m, Metric.NOTICES_SENT),
  failed: counter(m, Metric.NOTICES_FAILED),
  retried: counter(m, Metric.NOTICES_RETRIED),
  latency: histogram(m, Metric.NOTICE_DELIVERY_LATENCY),
  attempt: histogram(m, Metric.NOTICE_ATTEMPT_DURATION),
}));

/** No channel could even be tried (no provider resolved, or none in the registry). */
const NO_CHANNEL = 'none';

/**
 * Counts one recorded step of a notice. Called once per step, by the worker whose step record
 * was inserted (a lease that outlived its holder cannot count a step twice). Channel, kind and
 * outcome only: never the notice id, the contact or the URL.
 */
export function recordNoticeStep(notice: NoticeDocument, step: StepDocument, now: Date): void {
  const i = instruments();
  const a = step.attempt;
  if (a) i.attempt.record(Math.max(0, a.finishedAt.getTime() - a.startedAt.getTime()) / 1000, { [Attr.CHANNEL]: a.channel, [Attr.OUTCOME]: a.outcome });
  for (const f of step.failures) i.failed.add(1, { [Attr.CHANNEL]: f.channel, [Attr.OUTCOME]: f.undeliverable ? 'undeliverable' : 'fallback' });
  const state = step.set.state;
  if (state === NoticeState.UNDELIVERABLE && step.failures.length === 0) i.failed.add(1, { [Attr.CHANNEL]: NO_CHANNEL, [Attr.OUTCOME]: 'undeliverable' });
  if (state === NoticeState.SENT) {
    const channel = step.set.deliveredVia ?? a?.channel ?? NO_CHANNEL;
    i.sent.add(1, { [Attr.CHANNEL]: channel, [Attr.NOTICE_KIND]: notice.kind });
    i.latency.record(Math.max(0, (a?.finishedAt ?? now).getTime() - notice.createdAt.getTime()) / 1000, { [Attr.CHANNEL]: channel, [Attr.NOTICE_KIND]: notice.kind });
  }
  // A failed attempt followed by another try on the same channel (no failure recorded for it).
  if (a?.outcome === 'failed' && state === undefined && !step.failures.some((f) => f.channel === a.channel)) i.retried.add(1, { [Attr.CHANNEL]: a.channel });
}
