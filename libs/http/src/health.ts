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

/** GET /health/live (the process answers) and GET /health/ready (every dependency check passes). */
export const healthPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorate('readiness', new ReadinessRegistry());
    app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'live' }));
    app.get('/health/ready', { schema: { hide: true } }, async (_req, reply) => {
      const result = await app.readiness.run();
      return reply.status(result.ready ? 200 : 503).send({ status: result.ready ? 'ready' : 'not-ready', checks: result.checks });
    });
  },
  { name: 'hashcheck-health' },
);
