import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { EnforcementService } from '../service';

export interface PollerOptions {
  service: EnforcementService;
  intervalMs: number;
}

/**
 * Polls the due-time index for timers and fires them. Several instances may poll the same
 * database: each timer is claimed under a lease first, so only one of them fires it. Nothing is
 * held in memory between polls, so a restart loses nothing.
 */
export class TimerPoller {
  #timer: NodeJS.Timeout | undefined;
  readonly #inflight = new Set<Promise<void>>();
  #stopped = true;

  constructor(private readonly opts: PollerOptions & { logger: { error: (o: object, m: string) => void } }) {}

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Runs a pass now (tests, and after a decision that may have made something due). */
  async poke(): Promise<void> {
    if (!this.#stopped) await this.#pass();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.all([...this.#inflight]);
  }

  async #pass(): Promise<void> {
    const run = (async () => {
      try {
        // Keep going while whole batches fire: a backlog drains without waiting for the next poll.
        while (!this.#stopped && (await this.opts.service.fireDueTimers()) >= this.opts.service.deps.batch);
      } catch (err) {
        this.opts.logger.error({ err }, 'timer poll failed; retrying at the next poll');
      }
    })();
    this.#inflight.add(run);
    try {
      await run;
    } finally {
      this.#inflight.delete(run);
    }
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      void this.#pass().finally(() => {
        if (!this.#stopped) this.#schedule(this.opts.intervalMs);
      });
    }, delay);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    enforcementTimers: TimerPoller;
  }
}

export const timersPlugin = fp<PollerOptions>(
  async (app: FastifyInstance, opts) => {
    const poller = new TimerPoller({ ...opts, logger: app.log });
    app.decorate('enforcementTimers', poller);
    app.addHook('onReady', async () => poller.start());
    // Stop firing before the outbox relay and the database close.
    app.addHook('onClose', async () => poller.stop());
  },
  { name: 'enforcement-timers', dependencies: ['hashcheck-mongo'] },
);
