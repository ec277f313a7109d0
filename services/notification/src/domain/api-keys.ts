import { parseStaticKeys, type StaticKey, type StaticPrincipal } from '@hashcheck/auth';

/**
 * Static API keys for the two kinds of people who call this service: case officers read notices
 * and their proof of delivery; administrators also keep the victim-series registry.
 */
export const Scope = { CASE_OFFICER: 'case-officer', ADMIN: 'admin' } as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];

export type ApiKeyEntry = StaticKey<ScopeValue>;

export type Principal = StaticPrincipal<ScopeValue>;

/** `NOTIFICATION_API_KEYS`: `name:scope[+scope]:sha256hex`, comma-separated, e.g. `officer-1:case-officer:9f86…,ops:admin:2c26…`. */
export function parseApiKeys(text: string | undefined): ApiKeyEntry[] {
  return parseStaticKeys(text, { variable: 'NOTIFICATION_API_KEYS', scopes: Object.values(Scope) });
}

/** Admin covers everything a case officer may do. */
export function allows(principal: Principal, scope: ScopeValue): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes(Scope.ADMIN);
}
