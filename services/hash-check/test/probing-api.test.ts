import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { infra, waitFor } from '@hashcheck/testing';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp, HashCheckConfigSchema } from '@hashcheck/hash-check';
import { ADMIN_KEY, SECRET, bearer, basic, freshEnv, hex } from './helpers';

/** `h` (hex) with `bits` bits flipped at positions spread by `seed`. */
function near(h: string, bits: number, seed: number): string {
  const b = Buffer.from(h, 'hex');
  for (let i = 0; i < bits; i++) {
    const pos = (seed * 31 + i * 97) % 256;
    b[pos >>> 3] = (b[pos >>> 3] as number) ^ (1 << (pos & 7));
  }
  return b.toString('hex');
}

test('probing: a near-duplicate PDQ sweep through the HTTP API raises the signal (log, audit, admin API); normal traffic does not', async (t) => {
  const env = infra(t);
  if (!env) return;
  const e = freshEnv();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig(HashCheckConfigSchema, {
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: e.db,
    KAFKA_TOPIC_PREFIX: e.prefix,
    OUTBOX_POLL_MS: '50',
    HASH_LIST_SECRET: SECRET,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin:${sha256Hex(ADMIN_KEY)}`,
    AUTH_CACHE_MS: '0',
    LIST_POLL_MS: '600000',
  });
  const app = await buildApp(config, { logger: pino({ level: 'info' }, sink) });
  t.after(() => app.close());
  await app.ready();
  const admin = bearer(ADMIN_KEY);

  // A list with a PDQ hash and some exact hashes, so normal traffic has real matches too.
  const stored = hex(32);
  const md5s = Array.from({ length: 20 }, () => hex(16));
  assert.equal((await app.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'police', name: 'Police', source: 'police', category: 'csam-a', owner: 'Police', threshold: 31 } })).statusCode, 201);
  const changes = await app.inject({ method: 'POST', url: '/v1/lists/police/changes', headers: admin, payload: { add: [{ type: 'pdq', hash: stored }, ...md5s.map((h) => ({ type: 'md5', hash: h }))] } });
  assert.ok(changes.statusCode < 300, changes.body);
  const keyOf = async (tenant: string): Promise<string> => {
    assert.equal((await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: tenant, name: tenant, kind: 'hosting' } })).statusCode, 201);
    const issued = await app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/keys`, headers: admin, payload: { name: 'scanner', scopes: ['checker'] } });
    return issued.json().key as string;
  };
  const honestKey = await keyOf('honest-host');
  const proberKey = await keyOf('prober');
  await waitFor(async () => (await app.inject({ method: 'POST', url: '/v1/check', headers: bearer(honestKey), payload: { items: [{ type: 'pdq', hash: stored }] } })).json().results[0].match === true, { timeoutMs: 60_000, what: 'the stored PDQ hash matches' });

  // Normal traffic: unrelated images (random PDQ), re-scans of the same files, exact hashes, real matches.
  const rescans = Array.from({ length: 10 }, () => hex(32));
  for (let r = 0; r < 4; r++) {
    const items = [
      ...Array.from({ length: 150 }, () => ({ type: 'pdq', hash: hex(32) })),
      ...rescans.map((h) => ({ type: 'pdq', hash: h })),
      { type: 'pdq', hash: stored },
      { type: 'pdq', hash: near(stored, 3, r) },
      ...md5s.slice(0, 5).map((h) => ({ type: 'md5', hash: h })),
      ...Array.from({ length: 100 }, () => ({ type: 'sha256', hash: hex(32) })),
    ];
    const res = await app.inject({ method: 'POST', url: '/v1/check', headers: bearer(honestKey), payload: { items } });
    assert.equal(res.statusCode, 200, res.body);
  }
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/check/pdq', headers: basic('honest-host', honestKey), payload: hex(32) });
    assert.equal(res.body, 'false');
  }

  // The sweep: 120 variations of one image, 1-12 bits apart, as one bulk request.
  const sweep = Array.from({ length: 120 }, (_v, i) => ({ type: 'pdq', hash: near(stored, 1 + (i % 12), i) }));
  const swept = await app.inject({ method: 'POST', url: '/v1/check', headers: bearer(proberKey), payload: { items: sweep } });
  assert.equal(swept.statusCode, 200, swept.body);
  // The sweep itself is answered normally (the signal is for the operator, not a block).
  assert.ok((swept.json().results as { match?: boolean }[]).every((r) => r.match === true));

  const signals = await waitFor(
    async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/audit/probing?tenant=prober', headers: admin });
      assert.equal(res.statusCode, 200, res.body);
      const s = res.json().signals as { tenantId: string; reason: string; count: number; channel: string; minDistance: number }[];
      return s.length > 0 ? s : undefined;
    },
    { timeoutMs: 60_000, what: 'the probing audit record' },
  );
  assert.equal(signals.length, 1, 'one signal per window, not one per query');
  assert.equal(signals[0]?.reason, 'pdq-sweep');
  assert.equal(signals[0]?.channel, 'bulk');
  assert.ok((signals[0]?.count ?? 0) >= config.PROBING_SWEEP_MIN_QUERIES);

  const all = (await app.inject({ method: 'GET', url: '/v1/audit/probing', headers: admin })).json().signals as { tenantId: string }[];
  assert.deepEqual(all.map((s) => s.tenantId), ['prober'], 'normal traffic raised nothing');
  const warn = lines.map((l) => JSON.parse(l) as { level: number; msg: string; tenantId?: string; reason?: string }).filter((l) => l.msg.startsWith('probing suspected'));
  assert.equal(warn.length, 1);
  assert.equal(warn[0]?.level, 40, 'a warn line');
  assert.equal(warn[0]?.tenantId, 'prober');
  assert.ok(!lines.some((l) => l.includes(stored)), 'no hash in any log line');
  // Only administrators read the signals.
  assert.equal((await app.inject({ method: 'GET', url: '/v1/audit/probing', headers: bearer(proberKey) })).statusCode, 403);
});
