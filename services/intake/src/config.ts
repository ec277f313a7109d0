import { Type, type Static } from '@hashcheck/config';
import { ServiceSettings } from '@hashcheck/runtime';

export const IntakeConfigSchema = Type.Object({
  ...ServiceSettings,
  INTAKE_API_KEYS: Type.String({
    default: '',
    description: 'comma-separated name:scope[+scope]:sha256hex entries (scopes: hotline, admin); empty = HTTP API closed',
  }),
  PROVIDER_SECRET_KEY: Type.Optional(Type.String({ minLength: 1, description: '[keyId:]32 bytes hex/base64, comma-separated for rotation; encrypts webhook secrets' })),
  INTAKE_MAX_BATCH: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  INTAKE_CONSUMER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 6, description: 'partitions of reports.submitted (and of the topics intake follows downstream) processed at once; 6 = all of them, so their writes share database round trips instead of taking turns' }),
  INTAKE_BATCH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'messages of one partition processed at once (their writes share database round trips); one key stays in order' }),
});

export type IntakeConfig = Static<typeof IntakeConfigSchema>;
