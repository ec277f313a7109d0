/** Kafka header names the system sets. W3C trace context (`traceparent`, `tracestate`) travels beside these. */
export const Header = {
  EVENT_TYPE: 'hc-event-type',
  EVENT_VERSION: 'hc-event-version',
  EVENT_ID: 'hc-event-id',
  CONTENT_TYPE: 'content-type',
  DLQ_ORIGINAL_TOPIC: 'hc-dlq-original-topic',
  DLQ_ORIGINAL_PARTITION: 'hc-dlq-original-partition',
  DLQ_ORIGINAL_OFFSET: 'hc-dlq-original-offset',
  DLQ_CONSUMER_GROUP: 'hc-dlq-consumer-group',
  DLQ_ERROR_CODE: 'hc-dlq-error-code',
  DLQ_ERROR_MESSAGE: 'hc-dlq-error-message',
  /** `outbox`: an event a service stored to publish and could not encode (no partition, offset or group then). */
  DLQ_SOURCE: 'hc-dlq-source',
} as const;
