import { metrics, type Attributes, type Counter, type Histogram, type ObservableGauge } from '@opentelemetry/api';

const meter = () => metrics.getMeter('hashcheck');

let instruments:
  | {
      consumed: Counter;
      duration: Histogram;
      deadLettered: Counter;
      rejected: Counter;
      published: Counter;
    }
  | undefined;

function get() {
  if (!instruments) {
    const m = meter();
    instruments = {
      consumed: m.createCounter('hashcheck.messages.consumed', { description: 'Messages consumed, by topic, group and outcome' }),
      duration: m.createHistogram('hashcheck.messages.processing.duration', { description: 'Time to process one message', unit: 'ms' }),
      deadLettered: m.createCounter('hashcheck.messages.deadlettered', { description: 'Messages sent to the dead-letter topic' }),
      rejected: m.createCounter('hashcheck.reports.rejected', { description: 'Reports refused with reasons' }),
      published: m.createCounter('hashcheck.messages.published', { description: 'Events published, by topic' }),
    };
  }
  return instruments;
}

export function recordConsumed(topic: string, group: string, outcome: string, durationMs: number): void {
  const attrs: Attributes = { 'messaging.destination.name': topic, 'messaging.consumer.group.name': group, 'hashcheck.outcome': outcome };
  const i = get();
  i.consumed.add(1, attrs);
  i.duration.record(durationMs, attrs);
  if (outcome === 'deadlettered') i.deadLettered.add(1, attrs);
}

export function recordPublished(topic: string, count: number): void {
  get().published.add(count, { 'messaging.destination.name': topic });
}

export function recordRejected(reason: string, count = 1): void {
  get().rejected.add(count, { 'hashcheck.reason': reason });
}

/** Service-specific instruments share the one meter. */
export function hashcheckMeter() {
  return meter();
}

export type { Counter, Histogram, ObservableGauge };
