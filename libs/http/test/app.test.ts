import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { createApp } from '@hashcheck/http';
import { HashCheckError, ErrorCode } from '@hashcheck/errors';

async function build(logged?: string[]) {
  const logger = logged ? pino({ level: 'info' }, { write: (line: string) => { logged.push(line); } }) : pino({ level: 'silent' });
  const app = await createApp({ service: 'test', logger, bodyLimit: 2048 });
  app.post('/echo', { schema: { body: Type.Object({ name: Type.String({ maxLength: 10 }) }, { additionalProperties: false }) } }, async (req) => req.body);
  app.get('/boom', async () => { throw new Error('secret internals'); });
  app.get('/gone', async () => { throw new HashCheckError(ErrorCode.NOT_FOUND, 'report r-1 not found'); });
  app.get('/slow-down', async () => { throw new HashCheckError(ErrorCode.RATE_LIMITED, 'too many', { details: { retryAfterSeconds: 7 } }); });
  return app;
}

test('one error shape for validation, domain, unknown route, oversize and internal errors', async (t) => {
  const app = await build();
  t.after(() => app.close());
  const bad = await app.inject({ method: 'POST', url: '/echo', payload: { name: 5, x: 1 } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'HC_VALIDATION');
  assert.ok(bad.json().error.details.length >= 1);

  const malformed = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.json().error.code, 'HC_MALFORMED_BODY');

  const big = await app.inject({ method: 'POST', url: '/echo', payload: { name: 'x'.repeat(5000) } });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().error.code, 'HC_PAYLOAD_TOO_LARGE');

  const boom = await app.inject({ method: 'GET', url: '/boom' });
  assert.equal(boom.statusCode, 500);
  assert.deepEqual(boom.json(), { error: { code: 'HC_INTERNAL', message: 'internal error' } });

  const gone = await app.inject({ method: 'GET', url: '/gone' });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json().error.code, 'HC_NOT_FOUND');

  const nowhere = await app.inject({ method: 'GET', url: '/nowhere?x=1' });
  assert.equal(nowhere.statusCode, 404);
  assert.match(nowhere.json().error.message, /GET \/nowhere$/);

  const slow = await app.inject({ method: 'GET', url: '/slow-down' });
  assert.equal(slow.statusCode, 429);
  assert.equal(slow.headers['retry-after'], '7');

  const ok = await app.inject({ method: 'POST', url: '/echo', payload: { name: 'ok' } });
  assert.equal(ok.statusCode, 200);
  assert.ok(ok.headers['x-content-type-options'], 'security headers set');
});

test('readiness follows its checks; the answer names failing checks, and only the log says why', async (t) => {
  const logged: string[] = [];
  const app = await build(logged);
  t.after(() => app.close());
  let dbUp = false;
  const reason = 'connect ECONNREFUSED 10.1.2.3:27017 (user hashcheck-intake)';
  app.readiness.add('mongo', () => (dbUp ? { ok: true } : { ok: false, error: reason }));
  app.readiness.add('kafka', async () => ({ ok: true }));
  app.readiness.add('throws', async () => { if (!dbUp) throw new Error('broker 10.9.9.9:9092 unreachable'); return { ok: true }; });
  assert.equal((await app.inject('/health/live')).statusCode, 200);
  const down = await app.inject('/health/ready');
  assert.equal(down.statusCode, 503);
  assert.deepEqual(down.json(), { status: 'not-ready', checks: { mongo: { ok: false }, kafka: { ok: true }, throws: { ok: false } } });
  assert.doesNotMatch(down.body, /10\.1\.2\.3|10\.9\.9\.9|ECONNREFUSED|hashcheck-intake/, 'no driver message reaches an unauthenticated caller');
  await app.inject('/health/ready');
  const failingLines = () => logged.map((l) => JSON.parse(l) as { msg: string; check?: string; reason?: string }).filter((l) => l.msg === 'readiness check failing');
  assert.deepEqual(failingLines().map((l) => [l.check, l.reason]), [['mongo', reason], ['throws', 'broker 10.9.9.9:9092 unreachable']], 'each failing check logged with its reason once, not on every probe');
  dbUp = true;
  assert.equal((await app.inject('/health/ready')).statusCode, 200);
  assert.equal(logged.filter((l) => l.includes('readiness check passing again')).length, 2, 'recovery logged once per check');
  const spec = await app.inject('/openapi.json');
  assert.equal(spec.json().openapi, '3.1.0');
});
