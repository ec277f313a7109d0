import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

export interface WorkerTask {
  name: string;
  run: (shouldStop: () => boolean) => Promise<unknown>;
  /** Poll interval of this task's loop. */
  intervalMs: number;
}

/**
 * The durable timers: due items, notices and digests live in MongoDB with a due time and are
 * polled, never held in memory, so a restart loses nothing. `kick()` starts a pass at once (after
 * an event that made something due now).
 */
export class Poller {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #closing = false;

  constructor(
    private readonly tasks: readonly WorkerTask[],
    private readonly intervalMs: number,
    private readonly logger: { error: (o: object, m: string) => void },
  ) {}

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  /** One pass, for tests and tools; the loop uses the same. */
  async pass(): Promise<void> {
    for (const task of this.tasks) {
      if (this.#closing) return;
      try {
        await task.run(() => this.#closing);
      } catch (err) {
        this.logger.error({ err, task: task.name }, 'worker task failed; will retry at the next poll');
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#closing = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delay: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.pass().finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        const again = this.#again;
        this.#again = false;
        this.#schedule(again ? 0 : this.intervalMs);
      });
    }, delay);
  }
}

/** One loop per task, so a slow pass of one (sealing many items) does not hold up another (sending). */
export class Workers {
  readonly #pollers = new Map<string, Poller>();

  constructor(tasks: readonly WorkerTask[], logger: { error: (o: object, m: string) => void }) {
    for (const task of tasks) this.#pollers.set(task.name, new Poller([task], task.intervalMs, logger));
  }

  start(): void {
    for (const p of this.#pollers.values()) p.start();
  }

  /** Runs the named task's loop (or every loop) now instead of at its next poll. */
  kick(name?: string): void {
    if (name) this.#pollers.get(name)?.kick();
    else for (const p of this.#pollers.values()) p.kick();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#pollers.values()].map((p) => p.stop()));
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    workers: Workers;
  }
}

/** Starts polling once the app is ready; on close, finishes the current passes first, then closes the channels. */
export const workersPlugin = fp<{ tasks: WorkerTask[]; onClose?: () => Promise<void> }>(
  async (app: FastifyInstance, opts) => {
    const workers = new Workers(opts.tasks, app.log);
    app.decorate('workers', workers);
    app.addHook('onReady', async () => workers.start());
    // Stop sending before anything else shuts down (consumers can take seconds to leave the group).
    app.addHook('preClose', async () => workers.stop());
    app.addHook('onClose', async () => {
      await workers.stop();
      await opts.onClose?.();
    });
  },
  { name: 'notification-workers', dependencies: ['hashcheck-mongo', 'hashcheck-kafka'] },
);
