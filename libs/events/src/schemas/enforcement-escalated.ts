import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { CaseId, DateTime, EvidenceHead, ProviderId } from './common';

export const EnforcementEscalatedSchema = Type.Object(
  {
    caseId: CaseId,
    providerId: ProviderId,
    step: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9-]*$', description: 'e.g. renotice, binding-instruction, penalty-order, fine' }),
    stepIndex: Type.Integer({ minimum: 0 }),
    decidedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'system or the regulator officer reference' })),
    decidedAt: Type.Optional(DateTime),
    deadlineAt: Type.Optional(DateTime),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    penaltyAmountEur: Type.Optional(Type.Number({ minimum: 0 })),
    penaltyPeriodSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    penaltyCapEur: Type.Optional(Type.Number({ minimum: 0 })),
    fineEur: Type.Optional(Type.Number({ minimum: 0 })),
    evidenceHead: Type.Optional(EvidenceHead),
  },
  { additionalProperties: false },
);
export type EnforcementEscalatedData = Static<typeof EnforcementEscalatedSchema>;

export const EnforcementEscalated = registry.add(
  defineEvent({
    type: 'enforcement.escalated',
    version: 1,
    topic: Topics.enforcementEscalated,
    schema: EnforcementEscalatedSchema,
    description: 'A case moved to its next enforcement step. Subject = caseId.',
  }),
);
