import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Attr, CachedObservations, gauge, Metric, MetricSpec, recordConsumed, type MetricName, type Observation, type ObservableGauge } from '@hashcheck/telemetry';
import { MetricsProbe } from '@hashcheck/telemetry/metrics-testing';

const probe = MetricsProbe.install();
test.after(() => probe.shutdown());

const names = Object.values(Metric) as MetricName[];

test('the registry: every metric has a kind, a unit, a description and attributes from Attr', () => {
  const attrs = new Set<string>(Object.values(Attr));
  assert.equal(new Set(names).size, names.length, 'no name twice');
  assert.deepEqual(Object.keys(MetricSpec).sort(), [...names].sort(), 'one spec per name, no spec without a name');
  for (const n of names) {
    const s = MetricSpec[n];
    assert.match(n, /^hashcheck(\.[a-z]+)+$/, `${n}: hashcheck.<dotted lower-case>`);
    assert.ok(['counter', 'histogram', 'gauge'].includes(s.kind), n);
    // UCUM: a unit like s / By, or an annotation like {message}.
    assert.match(s.unit, /^(s|ms|By|1|\{[a-z]+\})$/, `${n}: unit ${s.unit}`);
    assert.ok(s.description.length >= 20, `${n} is described`);
    for (const a of s.attributes) assert.ok(attrs.has(a), `${n}: attribute ${a} is in Attr`);
    for (const banned of [Attr.REPORT_ID, Attr.NOTICE_ID, Attr.CASE_ID, Attr.CASE_KEY, Attr.EVENT_ID]) {
      assert.ok(!s.attributes.includes(banned), `${n}: ${banned} is unbounded, never a metric attribute`);
    }
    if (s.kind === 'histogram') assert.ok(s.buckets && s.buckets.length > 3, `${n} has buckets in its unit`);
  }
});

test('docs/observability.md lists exactly the registry, with each type and unit', async () => {
  const doc = await readFile(new URL('../../../docs/observability.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Metrics'));
  assert.ok(section.length > 100, 'the Metrics section exists');
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^\| `(hashcheck\.[a-z.]+)` \|([^|]+)\|([^|]+)\|/.exec(line);
    if (m) rows.set(m[1]!, [m[2]!.trim(), m[3]!.trim().replace(/`/g, '')]);
  }
  assert.deepEqual([...rows.keys()].sort(), [...names].sort(), 'the catalogue and the registry name the same metrics');
  for (const n of names) assert.deepEqual(rows.get(n), [MetricSpec[n].kind, MetricSpec[n].unit], `${n}: type and unit as registered`);
});

test('instruments made from the registry carry its unit and description; durations are recorded in seconds', async () => {
  recordConsumed('a.v1', 'group-1', 'processed', 250);
  const d = await probe.descriptor(Metric.MESSAGES_PROCESSING_DURATION);
  assert.equal(d?.unit, 's');
  assert.equal(d?.description, MetricSpec[Metric.MESSAGES_PROCESSING_DURATION].description);
  const h = await probe.histogram(Metric.MESSAGES_PROCESSING_DURATION, { [Attr.TOPIC]: 'a.v1' });
  assert.deepEqual(h, { count: 1, sum: 0.25 });
  assert.equal(await probe.value(Metric.MESSAGES_CONSUMED, { [Attr.CONSUMER_GROUP]: 'group-1' }), 1);
  assert.equal(await probe.value(Metric.MESSAGES_DEADLETTERED), 0);
  recordConsumed('a.v1', 'group-1', 'deadlettered', 1);
  assert.equal(await probe.value(Metric.MESSAGES_DEADLETTERED, { [Attr.TOPIC]: 'a.v1' }), 1);
});

test('cached database gauges: a collection never waits for a slow load, and loads at most once per period', async () => {
  const meter = probe.provider.getMeter('cached-test');
  const open = gauge(meter, Metric.CASES_OPEN);
  let loads = 0;
  let release: () => void = () => undefined;
  const load = async (): Promise<Map<ObservableGauge, Observation[]>> => {
    loads += 1;
    const n = loads;
    await new Promise<void>((r) => { release = r; });
    return new Map([[open, [{ value: n * 10, attributes: { [Attr.CASE_STATUS]: 'open' } }]]]);
  };
  const cached = new CachedObservations(load, 60_000);
  cached.observe(meter, [open]);

  // The first collection starts a load and observes nothing yet (no value is better than a stall).
  assert.equal((await probe.points(Metric.CASES_OPEN)).length, 0);
  assert.equal(loads, 1);
  await probe.collect();
  assert.equal(loads, 1, 'a load in flight is not started twice');
  release();
  await cached.refresh();
  assert.equal(await probe.value(Metric.CASES_OPEN), 10, 'the loaded value, observed at the next collection');
  await probe.collect();
  assert.equal(loads, 1, 'fresh for 60 s: no new load');

  // A failing load keeps the last values and reports the error.
  const errors: unknown[] = [];
  const failing = new CachedObservations(async () => { throw new Error('db down'); }, 0, (err) => errors.push(err));
  await failing.refresh();
  assert.equal(errors.length, 1);
  // Closed: its callback is gone, so collections no longer load (the SDK keeps reporting the last
  // cumulative value of a series, which is why a closed app's gauge stays at its last figure).
  await cached.close();
  await failing.close();
  let eagerLoads = 0;
  const eager = new CachedObservations(async () => { eagerLoads += 1; return new Map<ObservableGauge, Observation[]>(); }, 0);
  eager.observe(meter, [open]);
  await probe.collect();
  assert.equal(eagerLoads, 1, 'stale at once: every collection starts a load');
  await eager.close();
  await probe.collect();
  await probe.collect();
  assert.equal(eagerLoads, 1, 'a closed cache never loads again');
});
