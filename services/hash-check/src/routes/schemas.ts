import { Type } from '@hashcheck/config';

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) },
  { description: 'Every error: a stable code and a message' },
);

export const HashTypeSchema = Type.Union([Type.Literal('md5'), Type.Literal('sha1'), Type.Literal('sha256'), Type.Literal('pdq')]);

export const CheckMatch = Type.Object({
  list: Type.String({ description: 'list id' }),
  listName: Type.String(),
  category: Type.String(),
  distance: Type.Integer({ description: '0 for exact types; Hamming distance for pdq' }),
});

export const CheckRequest = Type.Object(
  {
    items: Type.Array(Type.Object({ type: HashTypeSchema, hash: Type.String({ description: 'hex, either case' }) }), { minItems: 1, maxItems: 10_000 }),
  },
  { description: 'Up to 10,000 hashes of mixed types. An invalid item gets its own error; the others are answered.' },
);

export const CheckResponse = Type.Object({
  results: Type.Array(
    Type.Union([
      Type.Object({ index: Type.Integer(), match: Type.Literal(false) }),
      Type.Object({ index: Type.Integer(), match: Type.Literal(true), matches: Type.Array(CheckMatch) }),
      Type.Object({ index: Type.Integer(), error: Type.Object({ code: Type.String(), message: Type.String() }) }),
    ]),
    { description: 'one result per item, in order' },
  ),
});

export const Counts = Type.Object({ md5: Type.Integer(), sha1: Type.Integer(), sha256: Type.Integer(), pdq: Type.Integer() });

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  429: ErrorBody,
};
