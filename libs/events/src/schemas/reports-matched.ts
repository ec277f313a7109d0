import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { AcceptedReportFields, Category, DateTime, HashType } from './common';

export const Match = Type.Object(
  {
    listId: Type.String({ minLength: 1, maxLength: 128 }),
    listName: Type.String({ minLength: 1, maxLength: 200 }),
    category: Category,
    hashType: HashType,
    /** 0 for exact hashes; the Hamming distance for PDQ. */
    distance: Type.Integer({ minimum: 0, maximum: 256 }),
    seriesId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type MatchValue = Static<typeof Match>;

export const ReportsMatchedSchema = Type.Object(
  {
    ...AcceptedReportFields,
    matches: Type.Array(Match, { minItems: 1 }),
    checkedAt: DateTime,
  },
  { additionalProperties: false },
);
export type ReportsMatchedData = Static<typeof ReportsMatchedSchema>;

export const ReportsMatched = registry.add(
  defineEvent({
    type: 'reports.matched',
    version: 1,
    topic: Topics.reportsMatched,
    schema: ReportsMatchedSchema,
    description: 'An accepted report whose content matched at least one active hash list. Subject = reportId.',
  }),
);
