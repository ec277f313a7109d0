import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';

export const RejectionCode = Type.Union(
  [
    Type.Literal('HC_EVENT_SCHEMA'),
    Type.Literal('HC_VALIDATION'),
    Type.Literal('HC_CONFLICT'),
  ],
  { description: 'HC_EVENT_SCHEMA: envelope/data schema; HC_VALIDATION: semantic (URL, hashes); HC_CONFLICT: reportId reused for different content or by another source' },
);

export const ReportsRejectedSchema = Type.Object(
  {
    reportId: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'as given, when it could be read (may itself be invalid)' })),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'partner id as given, or the API key name for HTTP' })),
    code: RejectionCode,
    reasons: Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), { minItems: 1, maxItems: 100 }),
    original: Type.Object(
      {
        channel: Type.Union([Type.Literal('kafka'), Type.Literal('http')]),
        topic: Type.Optional(Type.String({ minLength: 1 })),
        partition: Type.Optional(Type.Integer({ minimum: 0 })),
        offset: Type.Optional(Type.String({ pattern: '^\\d+$' })),
        eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        /** The refused report (the event's data or the HTTP item) as received, so it can be fixed and resent. */
        payload: Type.Optional(Type.Unknown()),
      },
      { additionalProperties: false },
    ),
    rejectedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type ReportsRejectedData = Static<typeof ReportsRejectedSchema>;

export const ReportsRejected = registry.add(
  defineEvent({
    type: 'reports.rejected',
    version: 1,
    topic: Topics.reportsRejected,
    schema: ReportsRejectedSchema,
    description: 'Intake refused a report, with every reason. Subject = reportId when known, else the original event id or topic/partition/offset.',
  }),
);
