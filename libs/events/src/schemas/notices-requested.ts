import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { CaseId, DateTime, ProviderId } from './common';
import { NoticeItem } from './notice-item';

export const NoticesRequestedSchema = Type.Object(
  {
    requestId: Type.String({ minLength: 1, maxLength: 200, description: 'deterministic per (case set, attempt), so a replayed request is sent once' }),
    providerId: ProviderId,
    caseIds: Type.Array(CaseId, { minItems: 1, maxItems: 1000 }),
    items: Type.Optional(Type.Array(NoticeItem, { minItems: 1, maxItems: 1000 })),
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'why a (re-)notice is needed, e.g. deadline-passed' }),
    attempt: Type.Integer({ minimum: 1 }),
    deadlineAt: DateTime,
  },
  { additionalProperties: false },
);
export type NoticesRequestedData = Static<typeof NoticesRequestedSchema>;

export const NoticesRequested = registry.add(
  defineEvent({
    type: 'notices.requested',
    version: 1,
    topic: Topics.noticesRequested,
    schema: NoticesRequestedSchema,
    description: 'Enforcement asks notification to (re-)send a notice to a provider. Subject = providerId.',
  }),
);
