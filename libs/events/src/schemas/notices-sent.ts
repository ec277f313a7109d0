import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { Channel, DateTime, ProviderId } from './common';
import { NoticeItem } from './notice-item';

export const DeliveryProof = Type.Object(
  {
    channel: Channel,
    status: Type.Union([Type.Literal('delivered'), Type.Literal('accepted')], { description: 'delivered: webhook 2xx; accepted: SMTP server accepted the message' }),
    messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    payloadSha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the exact bytes sent' }),
    responseCode: Type.Optional(Type.Integer({ minimum: 100, maximum: 999, description: 'HTTP status or SMTP reply code' })),
    at: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export const NoticesSentSchema = Type.Object(
  {
    noticeId: Type.String({ minLength: 1, maxLength: 200 }),
    providerId: ProviderId,
    contact: Type.String({ minLength: 1, maxLength: 2048, description: 'the e-mail address or webhook URL the notice went to' }),
    channel: Channel,
    items: Type.Array(NoticeItem, { minItems: 1, maxItems: 1000 }),
    sentAt: DateTime,
    attempt: Type.Optional(Type.Integer({ minimum: 1 })),
    requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the notices.requested this answers, for re-notices' })),
    deliveryProof: DeliveryProof,
  },
  { additionalProperties: false },
);
export type NoticesSentData = Static<typeof NoticesSentSchema>;

export const NoticesSent = registry.add(
  defineEvent({
    type: 'notices.sent',
    version: 1,
    topic: Topics.noticesSent,
    schema: NoticesSentSchema,
    description: 'A notice reached a provider\'s abuse contact, with proof of delivery and each item\'s deadline. Subject = providerId.',
  }),
);
