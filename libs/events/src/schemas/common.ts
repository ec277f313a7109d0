import { Type, type Static } from '@sinclair/typebox';

/**
 * Building blocks shared by the event schemas. Every object is closed (`additionalProperties:
 * false`) so a typo in a field name is a validation error, not silently ignored data.
 */

export const HashType = Type.Union([Type.Literal('md5'), Type.Literal('sha1'), Type.Literal('sha256'), Type.Literal('pdq')], {
  description: 'md5, sha1, sha256 (exact) or pdq (256-bit perceptual hash, compared by Hamming distance)',
});
export type HashTypeValue = Static<typeof HashType>;

/** Hex lengths per hash type: md5 128 bit, sha1 160 bit, sha256 and pdq 256 bit. */
export const HASH_HEX_LENGTH = { md5: 32, sha1: 40, sha256: 64, pdq: 64 } as const;

/** Partner input: hex in either case (intake lower-cases it). */
export const SubmittedHashes = Type.Object(
  {
    md5: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'MD5, 32 hex digits' })),
    sha1: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{40}$', description: 'SHA-1, 40 hex digits' })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'SHA-256, 64 hex digits' })),
    pdq: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'PDQ, 256 bits as 64 hex digits' })),
  },
  { additionalProperties: false, minProperties: 1, description: 'Content hashes; at least one.' },
);

/** Normalised form every event after intake carries: lower-case hex only. */
export const Hashes = Type.Object(
  {
    md5: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
    sha1: Type.Optional(Type.String({ pattern: '^[0-9a-f]{40}$' })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    pdq: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false, minProperties: 1, description: 'Content hashes, lower-case hex; at least one.' },
);
export type HashesValue = Static<typeof Hashes>;

export const DateTime = Type.String({ format: 'date-time', description: 'RFC 3339 date-time with time zone' });

/** The partner's own report id: globally unique per report (intake refuses one reused by another source). */
export const ReportId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', description: 'report id chosen by the reporter: letters, digits, . _ : -' });

/** A partner / reporting system id (also the API key name for HTTP reports). */
export const SourceId = Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$', description: 'lower-case partner id' });

export const ProviderId = Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$', description: 'lower-case provider id (slug)' });

/** sha256 over (content, normalised URL): the same content at the same URL always has the same key. */
export const CaseKey = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'deterministic id of (content, normalised url)' });

/** `<caseKey>.<generation>`: one case per period the content is reported at that URL while not closed. */
export const CaseId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', description: 'case id; intake assigns `<caseKey>.<generation>`' });

export const Category = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$', description: 'lower-case category slug' });

/** A report URL as submitted: http(s), anything else is decided by intake's parser with precise reasons. */
export const SubmittedUrl = Type.String({ minLength: 10, maxLength: 4096, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://\\S+$', description: 'http(s) URL; IDN host names allowed' });

/** A normalised URL: WHATWG-serialised, punycode host, no default port, no fragment. */
export const NormalisedUrl = Type.String({ minLength: 10, maxLength: 4096, pattern: '^https?://[^\\s#]+$', description: 'normalised http(s) URL (WHATWG, punycode host, no default port, no fragment)' });

export const HOSTNAME_PATTERN = '^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$';

/** A host as WHATWG URL serialises it: lower-case (punycode) name, IPv4, or bracketed IPv6. */
export const Host = Type.Union(
  [
    Type.String({ pattern: HOSTNAME_PATTERN }),
    Type.String({ format: 'ipv4' }),
    Type.String({ pattern: '^\\[[0-9a-f:.]+\\]$' }),
  ],
  { description: 'lower-case host name (punycode), IPv4 or [IPv6]' },
);

export const Domain = Type.String({ pattern: HOSTNAME_PATTERN, description: 'lower-case domain (punycode); matches itself and every sub-domain' });

export const Ip = Type.Union([Type.String({ format: 'ipv4' }), Type.String({ format: 'ipv6' })], { description: 'IPv4 or IPv6 address' });

/** CIDR; the provider registry checks ranges fully (network address, prefix) before publishing. */
export const Cidr = Type.String({
  pattern: '^(?:(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)/(?:3[0-2]|[12]?\\d)|[0-9a-f:.]{2,45}/(?:12[0-8]|1[01]\\d|[1-9]?\\d))$',
  description: 'IPv4 or IPv6 CIDR range, lower-case',
});

export const Email = Type.String({ format: 'email', maxLength: 254 });

export const ContentType = Type.Union(
  [Type.Literal('image'), Type.Literal('video'), Type.Literal('archive'), Type.Literal('document'), Type.Literal('other')],
  { description: 'what kind of file the URL serves, as the reporter saw it' },
);

export const Channel = Type.Union([Type.Literal('webhook'), Type.Literal('email')]);

/** What intake stored and every later report event repeats, so consumers need no lookups. */
export const AcceptedReportFields = {
  reportId: ReportId,
  source: SourceId,
  channel: Type.Union([Type.Literal('kafka'), Type.Literal('http')], { description: 'how the report reached intake' }),
  url: NormalisedUrl,
  host: Host,
  ip: Type.Optional(Ip),
  providerId: Type.Union([ProviderId, Type.Null()], { description: 'null when no provider could be resolved' }),
  providerResolved: Type.Boolean(),
  hashes: Hashes,
  receivedAt: DateTime,
  caseKey: CaseKey,
  caseId: CaseId,
  observedAt: Type.Optional(DateTime),
  reporter: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  contentType: Type.Optional(ContentType),
  categoryHint: Type.Optional(Category),
};

/** The head of a case's evidence chain: the last entry's sequence number and hash. */
export const EvidenceHead = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: 'sequence number of the last evidence entry' }),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 (hex) of the last evidence entry' }),
  },
  {
    additionalProperties: false,
    description: 'The case\'s evidence chain head after the change this event reports: an anchor outside the database against which the exported evidence file must verify (`hashcheck evidence verify FILE --head HASH --count SEQ`).',
  },
);
