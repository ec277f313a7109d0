import { parseStaticKeys, type StaticKey, type StaticPrincipal } from '@hashcheck/auth';

export const Scope = { HOTLINE: 'hotline', ADMIN: 'admin' } as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];

/** A configured key; its holder's name is also the `source` of the reports it submits. */
export type ApiKeyEntry = StaticKey<ScopeValue>;

export type Principal = StaticPrincipal<ScopeValue>;

/** `INTAKE_API_KEYS`: `name:scope[+scope]:sha256hex`, comma-separated, e.g. `hotline:hotline:9f86…,ops:admin+hotline:2c26…`. */
export function parseApiKeys(text: string | undefined): ApiKeyEntry[] {
  return parseStaticKeys(text, { variable: 'INTAKE_API_KEYS', scopes: Object.values(Scope) });
}
