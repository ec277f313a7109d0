import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { AcceptedReportFields } from './common';

export const ReportsAcceptedSchema = Type.Object(AcceptedReportFields, { additionalProperties: false });
export type ReportsAcceptedData = Static<typeof ReportsAcceptedSchema>;

export const ReportsAccepted = registry.add(
  defineEvent({
    type: 'reports.accepted',
    version: 1,
    topic: Topics.reportsAccepted,
    schema: ReportsAcceptedSchema,
    description: 'Intake validated, normalised, resolved the provider and stored a report: once per reportId, and once more for each later case the report is moved to (its `cases.closed` reached intake after the report had joined the closed case); each under its own id. Subject = reportId.',
  }),
);
