import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { Channel, DateTime, ProviderId } from './common';
import { NoticeItem } from './notice-item';

export const NoticesFailedSchema = Type.Object(
  {
    noticeId: Type.String({ minLength: 1, maxLength: 200 }),
    providerId: ProviderId,
    channel: Channel,
    contact: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    /** true: no more retries on this channel. */
    final: Type.Boolean(),
    /** true: no channel is left for this provider; enforcement must act. */
    undeliverable: Type.Optional(Type.Boolean()),
    attempt: Type.Optional(Type.Integer({ minimum: 1 })),
    items: Type.Optional(Type.Array(NoticeItem, { minItems: 1, maxItems: 1000 })),
    failedAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);
export type NoticesFailedData = Static<typeof NoticesFailedSchema>;

export const NoticesFailed = registry.add(
  defineEvent({
    type: 'notices.failed',
    version: 1,
    topic: Topics.noticesFailed,
    schema: NoticesFailedSchema,
    description: 'A notice could not be delivered on a channel (final: no more retries), or at all (undeliverable). Subject = providerId.',
  }),
);
