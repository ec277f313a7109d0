import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { CaseId, HashType, ReportId } from './common';

export const HashesRetractionRequestedSchema = Type.Object(
  {
    requestId: Type.String({ minLength: 1, maxLength: 200 }),
    hashType: Type.Optional(HashType),
    hash: Type.Optional(Type.String({ pattern: '^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$' })),
    listId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    caseId: Type.Optional(CaseId),
    reportId: Type.Optional(ReportId),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    requestedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  {
    additionalProperties: false,
    // Either the hash itself or the case whose matched hashes are disputed.
    anyOf: [{ required: ['hashType', 'hash'] }, { required: ['caseId'] }],
  },
);
export type HashesRetractionRequestedData = Static<typeof HashesRetractionRequestedSchema>;

export const HashesRetractionRequested = registry.add(
  defineEvent({
    type: 'hashes.retraction-requested',
    version: 1,
    topic: Topics.hashesRetractionRequested,
    schema: HashesRetractionRequestedSchema,
    description: 'Enforcement upheld a dispute as a false positive; hash-check reviews and retracts the hash. Subject = `<hashType>:<hash>` or caseId.',
  }),
);
