import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { CaseId, CaseKey, DateTime, EvidenceHead, ProviderId, ReportId } from './common';

export const CasesClosedSchema = Type.Object(
  {
    caseId: CaseId,
    caseKey: Type.Optional(CaseKey),
    providerId: ProviderId,
    outcome: Type.Union([Type.Literal('removed'), Type.Literal('false-positive'), Type.Literal('withdrawn')]),
    closedAt: Type.Optional(DateTime),
    reportIds: Type.Optional(Type.Array(ReportId, { maxItems: 10_000 })),
    timeToRemovalSeconds: Type.Optional(Type.Number({ minimum: 0 })),
    withinDeadline: Type.Optional(Type.Boolean()),
    evidenceHead: Type.Optional(EvidenceHead),
  },
  { additionalProperties: false },
);
export type CasesClosedData = Static<typeof CasesClosedSchema>;

export const CasesClosed = registry.add(
  defineEvent({
    type: 'cases.closed',
    version: 1,
    topic: Topics.casesClosed,
    schema: CasesClosedSchema,
    description: 'A case ended. Intake then opens a new case if the same content is reported at the same URL again. Subject = caseId.',
  }),
);
