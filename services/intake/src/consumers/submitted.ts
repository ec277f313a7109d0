import type { KafkaMessage } from 'kafkajs';
import type { Collection } from 'mongodb';
import { ErrorCode, isDuplicateKeyError } from '@hashcheck/errors';
import { Header, ReportsSubmitted, Topics, type DecodeFailure, type EventEnvelope, type ReportsSubmittedData } from '@hashcheck/events';
import type { EventHandler, EventProducer, InvalidMessageHandler, MessageMeta } from '@hashcheck/kafka';
import type { Ingest } from '../ingest';
import { recordDeadLettered } from '@hashcheck/telemetry';

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

export interface DeadLetterOnce {
  producer: EventProducer;
  /** One marker per dead-lettered input offset, so a replay of the topic does not dead-letter it again. */
  ledger: Collection<{ _id: string; at: Date }>;
  groupId: string;
}

/**
 * Schema-invalid events are rejected with the validator's reasons (the partner can fix and resend);
 * bytes that are not a JSON event at all go to the dead-letter topic with their original bytes and
 * headers, once per input offset (a crash between publishing and marking may repeat it once).
 */
export function submittedInvalidHandler(ingest: Ingest, dlq: DeadLetterOnce): InvalidMessageHandler {
  return async (failure: DecodeFailure, message: KafkaMessage, meta: MessageMeta) => {
    if (failure.code === ErrorCode.EVENT_DECODE) {
      await deadLetterOnce(dlq, failure, message, meta);
      return 'handled';
    }
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
      failure.envelope?.type !== undefined && failure.envelope.type !== ReportsSubmitted.type
        ? [`${meta.topic} carries ${ReportsSubmitted.type} v${ReportsSubmitted.version} events only, not ${failure.envelope.type}`, ...failure.reasons]
        : failure.reasons,
      typeof p.reportId === 'string' ? p.reportId : undefined,
      typeof p.source === 'string' ? p.source : failure.envelope?.source,
    );
    return 'handled';
  };
}

async function deadLetterOnce(dlq: DeadLetterOnce, failure: DecodeFailure, message: KafkaMessage, meta: MessageMeta): Promise<void> {
  const key = `${meta.topic}:${meta.partition}:${meta.offset}`;
  if (await dlq.ledger.findOne({ _id: key })) return;
  // The same headers the shared consumer sets when it dead-letters, so every dead letter reads alike.
  await dlq.producer.publishRaw(Topics.deadLetter, [
    {
      key: message.key,
      value: message.value,
      headers: {
        ...(message.headers ?? {}),
        [Header.DLQ_ORIGINAL_TOPIC]: meta.topic,
        [Header.DLQ_ORIGINAL_PARTITION]: String(meta.partition),
        [Header.DLQ_ORIGINAL_OFFSET]: meta.offset,
        [Header.DLQ_CONSUMER_GROUP]: dlq.groupId,
        [Header.DLQ_ERROR_CODE]: failure.code,
        [Header.DLQ_ERROR_MESSAGE]: failure.reasons.join('; ').slice(0, 2000),
      },
    },
  ]);
  recordDeadLettered(meta.topic, dlq.groupId);
  try {
    await dlq.ledger.insertOne({ _id: key, at: new Date() });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}
