import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from '../envelope';
import { registry, Topics } from '../topics';
import { Category, Cidr, DateTime, Domain, Email, ProviderId } from './common';

/**
 * The webhook signing secret never travels in clear text: it is AES-256-GCM encrypted with the
 * shared PROVIDER_SECRET_KEY (keyId names which key, for rotation). Only notification decrypts it.
 */
export const EncryptedSecret = Type.Object(
  {
    alg: Type.Literal('aes-256-gcm'),
    keyId: Type.String({ minLength: 1, maxLength: 64 }),
    iv: Type.String({ pattern: '^[A-Za-z0-9_-]{16}$', description: '12-byte IV, base64url' }),
    tag: Type.String({ pattern: '^[A-Za-z0-9_-]{22}$', description: '16-byte GCM tag, base64url' }),
    ciphertext: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9_-]+$', description: 'base64url' }),
  },
  { additionalProperties: false },
);
export type EncryptedSecretValue = Static<typeof EncryptedSecret>;

export const ProviderWebhook = Type.Object(
  {
    url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }),
    secret: Type.Optional(EncryptedSecret),
  },
  { additionalProperties: false },
);

export const ProvidersStateSchema = Type.Object(
  {
    id: ProviderId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }),
    abuseContacts: Type.Array(Email, { maxItems: 20 }),
    webhook: Type.Optional(ProviderWebhook),
    domains: Type.Array(Domain, { maxItems: 10_000 }),
    ipRanges: Type.Array(Cidr, { maxItems: 10_000 }),
    category: Category,
    deleted: Type.Optional(Type.Boolean()),
    revision: Type.Integer({ minimum: 1, description: 'increases with every change; a materialiser ignores older revisions' }),
    updatedAt: DateTime,
  },
  { additionalProperties: false },
);
export type ProvidersStateData = Static<typeof ProvidersStateSchema>;

export const ProvidersState = registry.add(
  defineEvent({
    type: 'providers.state',
    version: 1,
    topic: Topics.providers,
    schema: ProvidersStateSchema,
    description: 'The full current state of one provider (compacted topic; deletion = deleted: true, no tombstone). Subject = provider id.',
  }),
);
