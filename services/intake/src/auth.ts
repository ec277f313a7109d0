import type { FastifyRequest } from 'fastify';
import { authenticateStatic, bearerToken } from '@hashcheck/auth';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { Scope, type ApiKeyEntry, type Principal, type ScopeValue } from './domain/api-keys';

/**
 * Bearer API keys checked against the hashed INTAKE_API_KEYS list. The key holder's name is the
 * `source` of the reports it sends; scopes: hotline (send and read reports), admin (everything).
 * The principal is kept beside the request rather than on it, so no other service's request type
 * is touched (all services share one TypeScript program).
 */
export class ApiKeyAuth {
  readonly #principals = new WeakMap<FastifyRequest, Principal>();

  constructor(private readonly keys: readonly ApiKeyEntry[]) {}

  require(scope: ScopeValue): (request: FastifyRequest) => Promise<void> {
    return async (request) => {
      const principal = authenticateStatic(this.keys, bearerToken(request.headers.authorization));
      if (!principal) throw new HashCheckError(ErrorCode.UNAUTHORIZED, 'unknown API key');
      if (!principal.scopes.includes(scope) && !principal.scopes.includes(Scope.ADMIN)) {
        throw new HashCheckError(ErrorCode.FORBIDDEN, `this API key lacks the ${scope} scope`);
      }
      this.#principals.set(request, principal);
    };
  }

  principal(request: FastifyRequest): Principal {
    const p = this.#principals.get(request);
    if (!p) throw new HashCheckError(ErrorCode.UNAUTHORIZED, 'not authenticated');
    return p;
  }
}
