import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

export type ReadinessCheck = () => Promise<{ ok: boolean; error?: string }> | { ok: boolean; error?: string };

declare module 'fastify' {
  interface FastifyInstance {
    readiness: ReadinessRegistry;
  }
}

export class ReadinessRegistry {
  readonly #checks = new Map<string, ReadinessCheck>();

  add(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  async run(): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; error?: string }> }> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, check]) => {
        try {
          return [name, await check()] as const;
        } catch (err) {
          return [name, { ok: false, error: (err as Error).message }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ready: entries.length > 0 && entries.every(([, r]) => r.ok), checks };
  }
}

/**
 * GET /health/live (the process answers) and GET /health/ready (every dependency check passes).
 *
 * Both answer without credentials (the orchestrator's probes have none), so the answer says only
 * which checks fail. Why they fail is in the service's log: the drivers' messages name internal
 * addresses and users. A failing check is logged when it starts failing or its reason changes, and
 * once more when it passes again, not on every probe.
 */
export const healthPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorate('readiness', new ReadinessRegistry());
    const failing = new Map<string, string>();
    app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'live' }));
    app.get('/health/ready', { schema: { hide: true } }, async (_req, reply) => {
      const result = await app.readiness.run();
      const checks: Record<string, { ok: boolean }> = {};
      for (const [name, { ok, error }] of Object.entries(result.checks)) {
        checks[name] = { ok };
        const reason = error ?? 'failed';
        if (!ok && failing.get(name) !== reason) app.log.warn({ check: name, reason }, 'readiness check failing');
        if (ok && failing.has(name)) app.log.info({ check: name }, 'readiness check passing again');
        if (ok) failing.delete(name);
        else failing.set(name, reason);
      }
      return reply.status(result.ready ? 200 : 503).send({ status: result.ready ? 'ready' : 'not-ready', checks });
    });
  },
  { name: 'hashcheck-health' },
);
