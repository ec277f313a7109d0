import { Type, type Static } from '@hashcheck/config';
import { ServiceSettings } from '@hashcheck/runtime';

export const HashCheckConfigSchema = Type.Object({
  ...ServiceSettings,
  HASH_LIST_SECRET: Type.String({
    minLength: 1,
    description:
      'keyId:secret[,keyId:secret...]: server secrets that encrypt stored hash chunks (AES-256-GCM, key derived per key id). The first seals new chunks; the others only open old ones (rotation). Each secret at least 32 characters.',
  }),
  HASH_CHECK_BOOTSTRAP_KEYS: Type.String({
    default: '',
    description: 'comma-separated name:scope[+scope]:sha256hex API keys from configuration (scopes: checker, hotline, admin), e.g. the first administrator; all other keys live in the database',
  }),
  CHECK_MAX_ITEMS: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000, description: 'items per POST /v1/check' }),
  CHECK_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 2_097_152, description: 'body limit of POST /v1/check (413 above)' }),
  IMPORT_MAX_BYTES: Type.Integer({ minimum: 1024, default: 4_294_967_296, description: 'largest list file one import accepts' }),
  IMPORT_CHUNK_SIZE: Type.Integer({ minimum: 16, maximum: 1_000_000, default: 16_384, description: 'hashes per stored chunk document' }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 1200, description: 'default requests per minute per tenant (a tenant may override it)' }),
  LIST_POLL_MS: Type.Integer({ minimum: 100, default: 30_000, description: 'safety-net poll of the list collection, in case a change event is late' }),
  COMPACT_CHECK_MS: Type.Integer({ minimum: 100, default: 5_000, description: 'how often the index checks whether deltas and tombstones should be folded in' }),
  RESEAL_INTERVAL_MS: Type.Integer({ minimum: 0, default: 60_000, description: 'background re-encryption of chunks sealed with an older key (0 = off)' }),
  PROBING_WINDOW_MS: Type.Integer({ minimum: 1000, default: 600_000, description: 'probing detector: sliding window per tenant' }),
  PROBING_SWEEP_MIN_QUERIES: Type.Integer({ minimum: 2, default: 50, description: 'probing detector: near-duplicate PDQ queries of one tenant within the window that raise the signal' }),
  PROBING_NEAR_DISTANCE: Type.Integer({ minimum: 1, maximum: 128, default: 48, description: 'probing detector: Hamming distance up to which two PDQ queries of a tenant are near-duplicates' }),
  PROBING_BOUNDARY_MIN_MATCHES: Type.Integer({ minimum: 2, default: 20, description: 'probing detector: PDQ matches within 4 bits inside the threshold, within the window, that raise the signal' }),
  PROBING_MAX_PER_REQUEST: Type.Integer({ minimum: 0, default: 256, description: 'probing detector: PDQ items of one request it looks at (0 = off)' }),
  REPORTS_PARTITION_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 6, description: 'partitions of reports.accepted handled at once (6 = all of them: their writes share database round trips instead of taking turns)' }),
  REPORTS_BATCH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'accepted reports of one partition matched at once (their checks share one insert); one key stays in order' }),
  AUTH_CACHE_MS: Type.Integer({ minimum: 0, default: 5_000, description: 'how long a verified API key is cached; revocation reaches other instances within this time' }),
});

export type HashCheckConfig = Static<typeof HashCheckConfigSchema>;
