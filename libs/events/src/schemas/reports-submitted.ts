import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { Category, ContentType, DateTime, Ip, ReportId, SourceId, SubmittedHashes, SubmittedUrl } from './common';

export const ReportsSubmittedSchema = Type.Object(
  {
    reportId: ReportId,
    source: SourceId,
    url: SubmittedUrl,
    hashes: SubmittedHashes,
    observedAt: Type.Optional(DateTime),
    reporter: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the reporter\'s own reference (analyst, ticket); never personal data' })),
    contentType: Type.Optional(ContentType),
    categoryHint: Type.Optional(Category),
    ip: Type.Optional(Ip),
  },
  { additionalProperties: false },
);
export type ReportsSubmittedData = Static<typeof ReportsSubmittedSchema>;

/** Partner input. Key (subject) = reportId. */
export const ReportsSubmitted = registry.add(
  defineEvent({
    type: 'reports.submitted',
    version: 1,
    topic: Topics.reportsSubmitted,
    schema: ReportsSubmittedSchema,
    description: 'A partner reports a URL with the hashes of the content it serves. Subject = reportId.',
  }),
);
