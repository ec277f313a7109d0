import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { authenticate, type ApiKeyEntry, type Principal, type ScopeValue } from '../domain/api-keys';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    requireScope: (scope: ScopeValue) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

/**
 * Bearer API keys checked against the hashed INTAKE_API_KEYS list. The key holder's name is the
 * `source` of the reports it sends; scopes: hotline (send and read reports), admin (also providers).
 */
export const authPlugin = fp<{ keys: ApiKeyEntry[] }>(
  async (app: FastifyInstance, opts) => {
    app.decorateRequest('principal', undefined);
    app.decorate('requireScope', (scope: ScopeValue) => async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!m) throw new HashCheckError(ErrorCode.UNAUTHORIZED, 'send an API key: Authorization: Bearer <key>');
      const principal = authenticate(opts.keys, m[1]!);
      if (!principal) throw new HashCheckError(ErrorCode.UNAUTHORIZED, 'unknown API key');
      if (!principal.scopes.includes(scope) && !principal.scopes.includes('admin')) {
        throw new HashCheckError(ErrorCode.FORBIDDEN, `this API key lacks the ${scope} scope`);
      }
      request.principal = principal;
    });
  },
  { name: 'intake-auth' },
);
