// Baseline server for check-http.infra.bench.ts: the same fastify, body limit and request shape,
// but it only parses the JSON and echoes one "no match" result per item. Prints its port.
import Fastify from 'fastify';

const app = Fastify({ bodyLimit: 2_097_152, logger: false });
app.post('/v1/check', async (request, reply) => {
  const items = (request.body as { items: unknown[] }).items;
  const results = items.map((_item, index) => ({ index, match: false }));
  return reply.type('application/json').send(JSON.stringify({ results }));
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
