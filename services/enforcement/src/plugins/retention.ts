import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { EnforcementService } from '../service';

/**
 * The retention job: an explicit periodic run (the local database has no TTL indexes, and
 * deleting would lose the statistics) that anonymises URLs, hosts and IP addresses of cases
 * closed longer ago than RETENTION_AFTER, and deletes removal reports kept that long for cases
 * never seen (removals_parked). Also runnable on demand from the admin API.
 */
export const retentionPlugin = fp<{ service: EnforcementService; intervalMs: number }>(
  async (app: FastifyInstance, opts) => {
    if (opts.intervalMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> | undefined;
    const tick = (): void => {
      running = opts.service.runRetention()
        .catch((err: unknown) => app.log.error({ err }, 'retention run failed; retrying at the next interval'))
        .finally(() => { running = undefined; });
    };
    app.addHook('onReady', async () => {
      timer = setInterval(tick, opts.intervalMs);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
      await running;
    });
  },
  { name: 'enforcement-retention', dependencies: ['hashcheck-mongo'] },
);
