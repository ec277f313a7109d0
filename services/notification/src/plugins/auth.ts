import type { FastifyRequest } from 'fastify';
import { authenticateStatic, bearerToken } from '@hashcheck/auth';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { allows, type ApiKeyEntry, type Principal, type ScopeValue } from '../domain/api-keys';

const principals = new WeakMap<FastifyRequest, Principal>();

/**
 * A preValidation hook (401 before any schema complaint) that admits Bearer keys from the hashed NOTIFICATION_API_KEYS list holding `scope`
 * (admin holds every scope). Kept as a plain function rather than a fastify decorator, so it does
 * not collide with other services' declarations in the one repo-wide type check.
 */
export function requireScope(keys: readonly ApiKeyEntry[], scope: ScopeValue) {
  return async (request: FastifyRequest): Promise<void> => {
    const principal = authenticateStatic(keys, bearerToken(request.headers.authorization));
    if (!principal) throw new HashCheckError(ErrorCode.UNAUTHORIZED, 'unknown API key');
    if (!allows(principal, scope)) throw new HashCheckError(ErrorCode.FORBIDDEN, `this API key lacks the ${scope} scope`);
    principals.set(request, principal);
  };
}

export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}
