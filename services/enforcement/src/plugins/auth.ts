import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken, sha256Hex } from '@hashcheck/auth';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { Scope, secretMatches, type ScopeValue } from '../domain/api-keys';
import type { KeyStore, Principal } from '../store/keys';

declare module 'fastify' {
  interface FastifyRequest {
    enforcementCaller?: Principal;
  }
  interface FastifyInstance {
    /** A preValidation hook admitting (it runs before the body is validated, so a caller without a key gets 401, not the schema's complaints) keys of any of these scopes (admin is always admitted). */
    enforcementAuth: (...scopes: ScopeValue[]) => (request: FastifyRequest) => Promise<void>;
  }
}

export interface AuthOptions {
  keys: KeyStore;
  /** The bootstrap administrator key from configuration, if any. */
  adminKey?: string;
}

/**
 * Bearer keys. Provider keys act only on their own provider's notices; hotline keys decide
 * disputes; regulator keys decide escalation steps and set deadline orders; admin keys issue keys.
 */
export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, opts) => {
    const adminHash = opts.adminKey ? sha256Hex(opts.adminKey) : undefined;
    app.decorateRequest('enforcementCaller', undefined);
    app.decorate('enforcementAuth', (...scopes: ScopeValue[]) => async (request: FastifyRequest) => {
      const key = bearerToken(request.headers.authorization);
      let principal: Principal | undefined;
      if (adminHash && secretMatches(key, adminHash)) principal = { keyId: 'bootstrap', scope: Scope.ADMIN, providerId: null, label: 'admin' };
      else principal = await opts.keys.authenticate(key);
      if (!principal) throw new HashCheckError(ErrorCode.UNAUTHORIZED, 'unknown or revoked API key');
      if (principal.scope !== Scope.ADMIN && !scopes.includes(principal.scope)) {
        throw new HashCheckError(ErrorCode.FORBIDDEN, `this API key (${principal.scope}) may not do this; needs ${scopes.join(' or ')}`);
      }
      request.enforcementCaller = principal;
    });
  },
  { name: 'enforcement-auth' },
);
