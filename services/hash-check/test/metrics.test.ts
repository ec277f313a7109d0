import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsProbe } from '@hashcheck/telemetry/metrics-testing';
import { Attr, Metric } from '@hashcheck/telemetry';
import { createEvent, ReportsAccepted, Topics } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { ADMIN_KEY, basic, bearer, freshEnv, hex, startApp } from './helpers';

// The real metrics SDK as the global provider, before any app is built.
const probe = MetricsProbe.install();

test('hash-check metrics: checks and outcomes per tenant, matches per list, index size and revision, report checks once', async (t) => {
  const env = infra(t);
  if (!env) return;
  t.after(() => probe.shutdown());
  const e = freshEnv();
  const app = await startApp(t, env, e);
  const admin = bearer(ADMIN_KEY);

  const keyOf = async (tenant: string): Promise<string> => {
    assert.equal((await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { id: tenant, name: tenant, kind: 'hosting' } })).statusCode, 201);
    const issued = await app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/keys`, headers: admin, payload: { name: 'scanner', scopes: ['checker'] } });
    assert.equal(issued.statusCode, 201, issued.body);
    return issued.json().key as string;
  };
  const keyA = await keyOf('tenant-a');
  const keyB = await keyOf('tenant-b');

  const listed = { sha1: hex(20), md5: hex(16), sha256: hex(32) };
  assert.equal((await app.inject({ method: 'POST', url: '/v1/lists', headers: admin, payload: { id: 'list-m', name: 'Metrics list', source: 'hotline', category: 'csam-a', owner: 'Hotline', threshold: 31 } })).statusCode, 201);
  const added = await app.inject({ method: 'POST', url: '/v1/lists/list-m/changes', headers: admin, payload: { add: [{ type: 'sha1', hash: listed.sha1 }, { type: 'md5', hash: listed.md5 }, { type: 'sha256', hash: listed.sha256 }] } });
  assert.equal(added.statusCode, 200, added.body);

  await t.test('index entries per list and hash type, and the loaded revision, are observed from the engine', async () => {
    await waitFor(async () => (await probe.value(Metric.INDEX_ENTRIES, { [Attr.LIST_ID]: 'list-m' })) === 3, { timeoutMs: 30_000, what: 'three entries of list-m in the index gauge' });
    assert.equal(await probe.value(Metric.INDEX_ENTRIES, { [Attr.LIST_ID]: 'list-m', [Attr.HASH_TYPE]: 'sha1' }), 1);
    assert.equal(await probe.value(Metric.INDEX_ENTRIES, { [Attr.LIST_ID]: 'list-m', [Attr.HASH_TYPE]: 'pdq' }), 0);
    const revision = app.hashCheck.engine.revisionOf('list-m');
    assert.ok(revision !== undefined && revision > 0);
    assert.equal(await probe.value(Metric.LIST_REVISION, { [Attr.LIST_ID]: 'list-m' }), revision);
    assert.ok((await probe.value(Metric.INDEX_BYTES, { [Attr.HASH_TYPE]: 'sha1' })) > 0, 'the sha1 index holds memory');
  });

  await t.test('three bulk checks from tenant A and two EOKM checks from tenant B are counted per tenant, outcome and list', async () => {
    const bulk = (items: unknown[]) => app.inject({ method: 'POST', url: '/v1/check', headers: bearer(keyA), payload: { items } });
    const r1 = await bulk([{ type: 'sha1', hash: listed.sha1 }, { type: 'md5', hash: hex(16) }]);
    const r2 = await bulk([{ type: 'md5', hash: hex(16) }]);
    const r3 = await bulk([{ type: 'md5', hash: 'not-hex' }, { type: 'md5', hash: listed.md5 }, { type: 'sha256', hash: listed.sha256 }]);
    assert.deepEqual([r1, r2, r3].map((r) => r.statusCode), [200, 200, 200]);
    const eokm = (type: string, body: string) => app.inject({ method: 'POST', url: `/v1/check/${type}`, headers: { ...basic('tenant-b', keyB), 'content-type': 'text/plain' }, payload: body });
    assert.equal((await eokm('sha1', listed.sha1)).body, 'true');
    assert.equal((await eokm('sha1', hex(20))).body, 'false');

    const a = { [Attr.TENANT_ID]: 'tenant-a' };
    const b = { [Attr.TENANT_ID]: 'tenant-b' };
    assert.equal(await probe.value(Metric.CHECK_REQUESTS, a), 3);
    assert.equal(await probe.value(Metric.CHECK_REQUESTS, { ...a, [Attr.CHECK_API]: 'bulk' }), 3);
    assert.equal(await probe.value(Metric.CHECK_HASHES, { ...a, [Attr.OUTCOME]: 'matched' }), 3);
    assert.equal(await probe.value(Metric.CHECK_HASHES, { ...a, [Attr.OUTCOME]: 'unmatched' }), 2);
    assert.equal(await probe.value(Metric.CHECK_HASHES, { ...a, [Attr.OUTCOME]: 'invalid' }), 1);
    assert.equal(await probe.value(Metric.CHECK_REQUESTS, { ...b, [Attr.CHECK_API]: 'eokm' }), 2);
    assert.equal(await probe.value(Metric.CHECK_HASHES, { ...b, [Attr.OUTCOME]: 'matched' }), 1);
    assert.equal(await probe.value(Metric.CHECK_HASHES, { ...b, [Attr.OUTCOME]: 'unmatched' }), 1);

    const list = { [Attr.LIST_ID]: 'list-m' };
    assert.equal(await probe.value(Metric.LIST_MATCHES, { ...list, [Attr.CHECK_API]: 'bulk' }), 3);
    assert.equal(await probe.value(Metric.LIST_MATCHES, { ...list, [Attr.CHECK_API]: 'bulk', [Attr.HASH_TYPE]: 'sha1' }), 1);
    assert.equal(await probe.value(Metric.LIST_MATCHES, { ...list, [Attr.CHECK_API]: 'eokm', [Attr.HASH_TYPE]: 'sha1' }), 1);

    const d = await probe.descriptor(Metric.CHECK_REQUESTS);
    assert.equal(d?.unit, '{request}');
    assert.ok((d?.description ?? '').length > 20, 'described');
  });

  await t.test('an accepted report is counted once under the pipeline tenant, however often it is delivered', async () => {
    const report = createEvent(ReportsAccepted, {
      subject: 'rep-m1',
      source: 'intake',
      data: {
        reportId: 'rep-m1', source: 'hotline-nl', channel: 'http', url: 'https://files.example.org/m1.jpg', host: 'files.example.org',
        providerId: 'example-hosting', providerResolved: true, hashes: { sha1: listed.sha1, md5: hex(16) }, receivedAt: new Date().toISOString(), caseKey: hex(32), caseId: `${hex(32)}.1`,
      },
    });
    await app.kafka.producer.publish(Topics.reportsAccepted, [report]);
    await app.kafka.producer.publish(Topics.reportsAccepted, [report]);
    // Topics are named without the deployment's prefix (the group carries it).
    const consumed = { [Attr.TOPIC]: Topics.reportsAccepted };
    await waitFor(async () => (await probe.value(Metric.MESSAGES_CONSUMED, consumed)) >= 2, { timeoutMs: 90_000, what: 'both deliveries consumed' }).catch(async (err: Error) => {
      throw new Error(`${err.message}; consumed: ${JSON.stringify((await probe.points(Metric.MESSAGES_CONSUMED)).map((p) => [p.attributes, p.value]))}`);
    });
    const pipeline = { [Attr.TENANT_ID]: 'report-pipeline', [Attr.CHECK_API]: 'report' };
    assert.equal(await probe.value(Metric.CHECK_REQUESTS, pipeline), 1, 'the redelivery is not a second check');
    assert.equal(await probe.value(Metric.CHECK_HASHES, { ...pipeline, [Attr.OUTCOME]: 'matched' }), 1);
    assert.equal(await probe.value(Metric.CHECK_HASHES, { ...pipeline, [Attr.OUTCOME]: 'unmatched' }), 1);
    assert.equal(await probe.value(Metric.LIST_MATCHES, { [Attr.LIST_ID]: 'list-m', [Attr.CHECK_API]: 'report' }), 1);
    const h = await probe.histogram(Metric.MESSAGES_PROCESSING_DURATION, consumed);
    assert.ok(h.count >= 2, 'every consumed message has its processing time');
    assert.equal((await probe.descriptor(Metric.MESSAGES_PROCESSING_DURATION))?.unit, 's');
  });

  await t.test('no metric attribute carries a hash', async () => {
    const all = await probe.collect();
    const hashes = new Set(Object.values(listed));
    for (const [name, m] of all) {
      for (const p of m.dataPoints) {
        for (const v of Object.values(p.attributes)) assert.ok(!hashes.has(String(v)), `${name} carries a hash in its attributes`);
      }
    }
  });
});
