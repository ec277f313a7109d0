import { EnvelopeSchema, type EventDefinition, type EventEnvelope } from '../envelope';
import { Header } from '../headers';
import type { EventRegistry, TopicSpec } from '../registry';
import { Topics } from '../topics';

/** Event types partners publish themselves; HashCheck receives these and sends every other one. */
export const PARTNER_PUBLISHED: readonly string[] = ['reports.submitted', 'removals.reported'];

export interface AsyncApiOptions {
  version: string;
  /** One example envelope per event key (`<type>.v<version>`), e.g. the golden fixtures. */
  examples?: Record<string, EventEnvelope>;
}

/** Plain JSON (no TypeBox symbols), so it can be compared and serialised. */
function json<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function messageKey(def: Pick<EventDefinition, 'type' | 'version'>): string {
  return `${def.type}.v${def.version}`;
}

function channelKey(topic: TopicSpec): string {
  return topic.name.replace(/^hashcheck\./, '').replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase());
}

const HEADERS = {
  type: 'object',
  properties: {
    [Header.EVENT_TYPE]: { type: 'string', description: 'the envelope type' },
    [Header.EVENT_VERSION]: { type: 'string', description: 'the envelope version' },
    [Header.EVENT_ID]: { type: 'string', description: 'the envelope id' },
    [Header.CONTENT_TYPE]: { type: 'string', const: 'application/json' },
    traceparent: { type: 'string', description: 'W3C trace context; never in the payload' },
    tracestate: { type: 'string', description: 'W3C trace context' },
  },
} as const;

const DEAD_LETTER_HEADERS = {
  type: 'object',
  description: 'The original headers, plus where the message came from and why it could not be processed.',
  properties: {
    [Header.DLQ_ORIGINAL_TOPIC]: { type: 'string' },
    [Header.DLQ_ORIGINAL_PARTITION]: { type: 'string' },
    [Header.DLQ_ORIGINAL_OFFSET]: { type: 'string' },
    [Header.DLQ_CONSUMER_GROUP]: { type: 'string' },
    [Header.DLQ_ERROR_CODE]: { type: 'string', description: 'e.g. HC_EVENT_DECODE' },
    [Header.DLQ_ERROR_MESSAGE]: { type: 'string' },
    [Header.DLQ_SOURCE]: { type: 'string', description: "outbox: an event a service stored and could not encode (HC_EVENT_SCHEMA); no partition, offset or group then, and the payload is the event's JSON as stored" },
  },
} as const;

/**
 * The partner-facing contract as an AsyncAPI 3.0 document, derived from the registry so it cannot
 * drift: one channel per topic, one message per event type and version whose payload is the
 * envelope with that event's data schema.
 */
export function asyncApiDocument(registry: EventRegistry, options: AsyncApiOptions): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const events = registry.events();
  for (const topic of registry.topics()) {
    const key = channelKey(topic);
    const onTopic = events.filter((e) => e.topic === topic.name);
    const channelMessages: Record<string, unknown> = {};
    for (const def of onTopic) channelMessages[messageKey(def)] = { $ref: `#/components/messages/${messageKey(def)}` };
    if (topic.name === Topics.deadLetter) channelMessages.deadLetter = { $ref: '#/components/messages/deadLetter' };
    const config: Record<string, unknown> = { 'cleanup.policy': [topic.cleanupPolicy] };
    if (topic.retentionMs !== undefined) config['retention.ms'] = topic.retentionMs;
    channels[key] = {
      address: topic.name,
      description: `${topic.description} Deployments may prefix the name (KAFKA_TOPIC_PREFIX).`,
      messages: channelMessages,
      bindings: { kafka: { partitions: topic.partitions, topicConfiguration: config, bindingVersion: '0.5.0' } },
    };
    const partnerSends = onTopic.some((e) => PARTNER_PUBLISHED.includes(e.type));
    operations[`${partnerSends ? 'receive' : 'send'}${key[0]!.toUpperCase()}${key.slice(1)}`] = {
      action: partnerSends ? 'receive' : 'send',
      channel: { $ref: `#/channels/${key}` },
      summary: partnerSends ? `Partners publish to ${topic.name}; HashCheck consumes it.` : `HashCheck publishes to ${topic.name}.`,
      messages: Object.keys(channelMessages).map((m) => ({ $ref: `#/channels/${key}/messages/${m}` })),
    };
  }
  for (const def of events) {
    const key = messageKey(def);
    const payload = json({
      ...EnvelopeSchema,
      properties: { ...EnvelopeSchema.properties, type: { type: 'string', const: def.type }, version: { type: 'integer', const: def.version }, data: def.schema },
      required: ['id', 'type', 'version', 'occurredAt', 'source', 'subject', 'data'],
    });
    const message: Record<string, unknown> = {
      name: key,
      title: `${def.type} v${def.version}`,
      summary: def.description,
      contentType: 'application/json',
      headers: HEADERS,
      payload,
      bindings: { kafka: { key: { type: 'string', description: 'the envelope subject' }, bindingVersion: '0.5.0' } },
    };
    const example = options.examples?.[key];
    if (example) message.examples = [{ name: 'golden', summary: `libs/events/fixtures/${key}.json`, payload: example, headers: { [Header.EVENT_TYPE]: def.type, [Header.EVENT_VERSION]: String(def.version), [Header.EVENT_ID]: example.id, [Header.CONTENT_TYPE]: 'application/json' } }];
    messages[key] = message;
  }
  messages.deadLetter = {
    name: 'deadLetter',
    title: 'dead letter',
    summary: 'A message a consumer could not decode or process: its original key and bytes, unchanged.',
    contentType: 'application/octet-stream',
    headers: DEAD_LETTER_HEADERS,
    payload: { description: 'the original message value, byte for byte' },
  };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'HashCheck events',
      version: options.version,
      description: [
        'Every event travels in one JSON envelope: `id` (UUID, the idempotency key), `type`, `version`, `occurredAt`, `source`, `subject` (also the Kafka key) and `data`.',
        'One topic per event type and major version; within a version, changes are additive only. Unknown fields are refused (`additionalProperties: false`).',
        'Partners publish `reports.submitted` (key = reportId) and `removals.reported`. Refused reports come back on `hashcheck.reports.rejected.v1` with every reason; bytes that are not a JSON event go to `hashcheck.deadletter.v1` unchanged.',
        'W3C trace context travels in the `traceparent` / `tracestate` headers, never in payloads. Generated from libs/events; see docs/events.md.',
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'The local stack (npm start prints the real address).' },
    },
    channels,
    operations,
    components: { messages },
  };
}
