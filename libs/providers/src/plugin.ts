import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ProviderMaterialiser, PROVIDER_VIEW_COLLECTION } from './materialiser';
import type { Provider } from './provider-index';

declare module 'fastify' {
  interface FastifyInstance {
    providers: ProviderMaterialiser;
  }
}

export interface ProvidersPluginOptions {
  service: string;
  /** Keep a MongoDB copy in the service's database (needs the mongo plugin). Default true. */
  persist?: boolean;
  collection?: string;
  onChange?: (provider: Provider) => void;
}

/**
 * The provider registry as every service sees it: `app.providers.resolve(host, ip)` and
 * `app.providers.get(id)`. Ready once the local view has caught up with the compacted topic.
 */
export const providersPlugin = fp<ProvidersPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const persist = opts.persist ?? true;
    const materialiser = new ProviderMaterialiser({
      kafka: app.kafka.kafka,
      producer: app.kafka.producer,
      codec: app.kafka.codec,
      logger: app.log.child({ component: 'providers-view' }),
      service: opts.service,
      ...(persist ? { db: app.mongo.db, collection: opts.collection ?? PROVIDER_VIEW_COLLECTION } : {}),
      ...(opts.onChange ? { onChange: opts.onChange } : {}),
    });
    app.decorate('providers', materialiser);
    app.readiness.add('providers', () =>
      materialiser.caughtUp ? { ok: true } : { ok: false, error: 'providers view still catching up with the compacted topic' },
    );
    app.addHook('onReady', async () => materialiser.start());
    app.addHook('onClose', async () => materialiser.stop());
  },
  { name: 'hashcheck-providers', dependencies: ['hashcheck-kafka'] },
);
