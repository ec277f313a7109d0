import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { Category, DateTime, HashType } from './common';

const ListId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });

export const HashChange = Type.Object(
  {
    listId: ListId,
    kind: Type.Union([Type.Literal('added'), Type.Literal('retracted')]),
    hashType: HashType,
    hash: Type.String({ pattern: '^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$', description: 'lower-case hex of the length hashType has' }),
    category: Type.Optional(Category),
    seriesId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    releaseId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    changedAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export const ListChange = Type.Object(
  {
    listId: ListId,
    kind: Type.Union([Type.Literal('list-enabled'), Type.Literal('list-disabled')]),
    listName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    releaseId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    changedAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export const HashesChangesSchema = Type.Union([HashChange, ListChange]);
export type HashesChangesData = Static<typeof HashesChangesSchema>;

export const HashesChanges = registry.add(
  defineEvent({
    type: 'hashes.changes',
    version: 1,
    topic: Topics.hashesChanges,
    schema: HashesChangesSchema,
    description: 'One hash added to or retracted from a list, or a list enabled/disabled (compacted). Subject = `<listId>:<hashType>:<hash>` for hashes, `<listId>` for list changes.',
  }),
);
