import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { CaseId, CaseKey, DateTime, NormalisedUrl, ProviderId, ReportId } from './common';

export const RemovalsReportedSchema = Type.Object(
  {
    url: Type.Optional(NormalisedUrl),
    reportId: Type.Optional(ReportId),
    caseKey: Type.Optional(CaseKey),
    caseId: Type.Optional(CaseId),
    providerId: Type.Optional(ProviderId),
    observedAt: DateTime,
    status: Type.Union([Type.Literal('removed'), Type.Literal('still-online')]),
    reporter: Type.String({ minLength: 1, maxLength: 200, description: 'who observed it: partner id, provider id or analyst reference' }),
  },
  {
    additionalProperties: false,
    // At least one way to find the case.
    anyOf: [{ required: ['url'] }, { required: ['reportId'] }, { required: ['caseKey'] }, { required: ['caseId'] }],
  },
);
export type RemovalsReportedData = Static<typeof RemovalsReportedSchema>;

export const RemovalsReported = registry.add(
  defineEvent({
    type: 'removals.reported',
    version: 1,
    topic: Topics.removalsReported,
    schema: RemovalsReportedSchema,
    description: 'An observation that reported content was removed or is still online. Subject = caseId, caseKey, reportId or url (the most precise known).',
  }),
);
