export const Collections = {
  LISTS: 'lists',
  RELEASES: 'releases',
  CHUNKS: 'chunks',
  TENANTS: 'tenants',
  API_KEYS: 'api_keys',
  USAGE: 'usage',
  AUDIT: 'audit_matches',
  AUDIT_PROBING: 'audit_probing',
  REPORT_CHECKS: 'report_checks',
  RETRACTIONS: 'retraction_requests',
} as const;

export const SERVICE_SOURCE = 'hash-check';
