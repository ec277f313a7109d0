import type { KafkaMessage } from 'kafkajs';
import { ErrorCode } from '@hashcheck/errors';
import { ReportsSubmitted, type DecodeFailure, type EventEnvelope, type ReportsSubmittedData } from '@hashcheck/events';
import type { EventHandler, InvalidMessageHandler, MessageMeta } from '@hashcheck/kafka';
import type { Ingest } from '../ingest';

function original(meta: MessageMeta, eventId: string | undefined, payload: unknown) {
  const o: { channel: 'kafka'; topic: string; partition: number; offset: string; eventId?: string; payload?: unknown } = {
    channel: 'kafka',
    topic: meta.topic,
    partition: meta.partition,
    offset: meta.offset,
  };
  if (eventId !== undefined) o.eventId = eventId.slice(0, 200);
  if (payload !== undefined) o.payload = payload;
  return o;
}

/**
 * A valid partner event: intake's decision. Anything but `reports.submitted` v1 on this topic is a
 * partner mistake and is rejected with a reason, not dead-lettered.
 */
export function submittedHandler(ingest: Ingest): EventHandler {
  return async (event: EventEnvelope, meta) => {
    const ctx = { channel: 'kafka' as const, inputRef: event.id, rejectionKey: `kafka:event:${event.id}`, original: original(meta, event.id, event.data) };
    if (event.type !== ReportsSubmitted.type || event.version !== ReportsSubmitted.version) {
      await ingest.reject(ctx, 'HC_EVENT_SCHEMA', [`${meta.topic} carries ${ReportsSubmitted.type} v${ReportsSubmitted.version} events only, not ${event.type} v${event.version}`]);
      return;
    }
    await ingest.submit(event.data as ReportsSubmittedData, ctx);
  };
}

/**
 * Schema-invalid events are rejected with the validator's reasons (the partner can fix and resend);
 * bytes that are not a JSON event at all go to the dead-letter topic with their original headers.
 */
export function submittedInvalidHandler(ingest: Ingest): InvalidMessageHandler {
  return async (failure: DecodeFailure, message: KafkaMessage, meta: MessageMeta) => {
    if (failure.code === ErrorCode.EVENT_DECODE) return 'deadletter';
    let payload: unknown;
    try {
      const parsed = JSON.parse(message.value?.toString('utf8') ?? 'null') as unknown;
      payload = typeof parsed === 'object' && parsed !== null && 'data' in parsed ? (parsed as { data: unknown }).data : parsed;
    } catch {
      payload = undefined;
    }
    const p = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
    const eventId = failure.envelope?.id;
    const key = eventId ? `kafka:event:${eventId}` : `kafka:offset:${meta.topic}:${meta.partition}:${meta.offset}`;
    await ingest.reject(
      { channel: 'kafka', inputRef: key, rejectionKey: key, original: original(meta, eventId, payload) },
      'HC_EVENT_SCHEMA',
      failure.reasons,
      typeof p.reportId === 'string' ? p.reportId : undefined,
      typeof p.source === 'string' ? p.source : failure.envelope?.source,
    );
    return 'handled';
  };
}
