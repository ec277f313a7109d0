import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, digestsEqual, parseBasicCredentials, sha256Hex } from '@hashcheck/auth';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import { hasScope, keyIdOf, type BootstrapKey, type Principal, type Scope } from '../domain/api-keys';
import type { TenantStore } from '../store/tenants';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** Hooks for a route: authenticate (Bearer, or Basic for EOKM routes), require a scope, rate-limit per tenant. */
    guard: (scope: Scope, options?: { basic?: boolean }) => ((request: FastifyRequest, reply: FastifyReply) => Promise<void>)[];
  }
}

export interface AuthPluginOptions {
  tenants: TenantStore;
  bootstrap: BootstrapKey[];
  defaultRateLimitPerMinute: number;
}

function unauthorized(message: string, basic: boolean, reply: FastifyReply): HashCheckError {
  if (basic) void reply.header('www-authenticate', 'Basic realm="hashcheck", charset="UTF-8"');
  return new HashCheckError(ErrorCode.UNAUTHORIZED, message);
}

/**
 * API keys (hashed in the database, or from configuration), scopes and per-tenant rate limits.
 * Bearer: `Authorization: Bearer <key>`. Basic (EOKM clients): user = tenant id, password = key.
 */
export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, opts) => {
    app.decorateRequest('principal', undefined);
    await app.register(rateLimit, { global: false, addHeaders: { 'retry-after': true, 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true } });

    const fromBootstrap = (key: string): Principal | undefined => {
      const digest = sha256Hex(key);
      let found: BootstrapKey | undefined;
      for (const b of opts.bootstrap) if (digestsEqual(b.sha256, digest)) found = b;
      return found ? { tenantId: found.name, keyId: `config:${found.name}`, scopes: found.scopes } : undefined;
    };

    const resolve = async (key: string): Promise<Principal | undefined> => {
      if (keyIdOf(key) !== undefined) {
        const r = await opts.tenants.authenticate(key);
        if (r) return { tenantId: r.tenant._id, keyId: r.key._id, scopes: r.key.scopes, rateLimitPerMinute: r.tenant.rateLimitPerMinute };
        return undefined;
      }
      return fromBootstrap(key);
    };

    const limiter = app.rateLimit({
      groupId: 'tenant',
      timeWindow: 60_000,
      keyGenerator: (req) => `tenant:${req.principal?.tenantId ?? req.ip}`,
      max: (req) => req.principal?.rateLimitPerMinute ?? opts.defaultRateLimitPerMinute,
      errorResponseBuilder: (_req, ctx) =>
        new HashCheckError(ErrorCode.RATE_LIMITED, `rate limit of ${ctx.max} requests per minute reached; retry in ${ctx.after}`, {
          details: { retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)), limitPerMinute: ctx.max },
        }),
    });

    app.decorate('guard', (scope: Scope, options: { basic?: boolean } = {}) => {
      const basic = options.basic === true;
      const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        const header = request.headers.authorization;
        let principal: Principal | undefined;
        if (basic) {
          const credentials = parseBasicCredentials(header);
          if (!credentials) throw unauthorized(/^Basic\s/i.test(header ?? '') ? 'malformed Basic credentials' : 'send HTTP Basic credentials: user = tenant id, password = API key', true, reply);
          principal = await resolve(credentials.password);
          if (!principal || principal.tenantId !== credentials.user) throw unauthorized('unknown tenant or API key', true, reply);
        } else {
          // bearerToken's 401 is the Bearer one: no WWW-Authenticate challenge, as before.
          principal = await resolve(bearerToken(header));
          if (!principal) throw unauthorized('unknown or revoked API key', false, reply);
        }
        if (!hasScope(principal, scope)) throw new HashCheckError(ErrorCode.FORBIDDEN, `this API key lacks the ${scope} scope`);
        request.principal = principal;
      };
      const limit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        await limiter.call(app, request, reply);
      };
      return [authenticate, limit];
    });
  },
  { name: 'hash-check-auth', dependencies: ['hashcheck-health'] },
);
