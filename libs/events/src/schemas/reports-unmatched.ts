import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { AcceptedReportFields, DateTime } from './common';

export const ReportsUnmatchedSchema = Type.Object(
  {
    ...AcceptedReportFields,
    checkedAt: DateTime,
  },
  { additionalProperties: false },
);
export type ReportsUnmatchedData = Static<typeof ReportsUnmatchedSchema>;

export const ReportsUnmatched = registry.add(
  defineEvent({
    type: 'reports.unmatched',
    version: 1,
    topic: Topics.reportsUnmatched,
    schema: ReportsUnmatchedSchema,
    description: 'An accepted report whose content matched no active hash list. Subject = reportId.',
  }),
);
