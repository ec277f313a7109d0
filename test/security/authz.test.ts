/**
 * The authorisation matrix: every route of every service against every role that service knows
 * and against no credentials; revoked keys refused at once; keys stored hashed (nothing in any
 * database holds a key or secret in clear); security headers on every answer; and no secret or API
 * key in any log line of the whole run.
 *
 * The SSRF guard on outgoing webhooks is tested where it lives: services/notification/test/ssrf.test.ts
 * and services/notification/src/channels/webhook.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@hashcheck/testing';
import { sampleOf } from '../hostile/corpus';
import { bootSystem, routesOf, SERVICES, urlOf, type RouteInfo, type ServiceName } from '../hostile/system';

/**
 * Who may call what: the specification, written down here rather than read from the code, so that
 * a route whose guard changes (or a new route without one) fails this test. `admin` is listed where
 * the service lets administrators do everything.
 */
const MATRIX: Record<Exclude<ServiceName, 'hash-check'>, Record<string, string[]>> = {
  intake: {
    'POST /v1/reports': ['hotline', 'admin'],
    'GET /v1/reports/{id}': ['hotline', 'admin'],
    'POST /v1/providers': ['admin'],
    'GET /v1/providers': ['admin'],
    'PATCH /v1/providers/{id}': ['admin'],
    'DELETE /v1/providers/{id}': ['admin'],
    'GET /v1/providers/{id}': ['admin'],
    'GET /v1/providers/resolve': ['hotline', 'admin'],
  },
  notification: {
    'GET /v1/notices/{noticeId}': ['case-officer', 'admin'],
    'GET /v1/notices': ['case-officer', 'admin'],
    'GET /v1/notices/{noticeId}/attempts/{n}/payload': ['case-officer', 'admin'],
    'PUT /v1/victim-series/{seriesId}': ['admin'],
    'GET /v1/victim-series/{seriesId}': ['admin'],
    'DELETE /v1/victim-series/{seriesId}': ['admin'],
    'GET /v1/victim-series': ['admin'],
    'GET /v1/victim-series/{seriesId}/digests': ['admin'],
  },
  enforcement: {
    'GET /v1/notices/{noticeId}': ['provider', 'hotline', 'regulator', 'admin'],
    'POST /v1/notices/{noticeId}/removal': ['provider', 'hotline', 'admin'],
    'POST /v1/notices/{noticeId}/dispute': ['provider', 'admin'],
    'GET /v1/cases': ['hotline', 'regulator', 'admin'],
    'GET /v1/cases/{caseId}': ['hotline', 'regulator', 'admin'],
    'GET /v1/cases/{caseId}/evidence': ['hotline', 'regulator', 'admin'],
    'POST /v1/cases/{caseId}/decisions': ['regulator', 'admin'],
    'GET /v1/disputes': ['hotline', 'regulator', 'admin'],
    'POST /v1/disputes/{disputeId}/decision': ['hotline', 'admin'],
    'GET /v1/regulator/orders': ['hotline', 'regulator', 'admin'],
    'PUT /v1/regulator/orders/{reference}': ['regulator', 'admin'],
    'DELETE /v1/regulator/orders/{reference}': ['regulator', 'admin'],
    'GET /v1/policy/{providerId}': ['hotline', 'regulator', 'admin'],
    'POST /v1/admin/keys': ['admin'],
    'GET /v1/admin/keys': ['admin'],
    'DELETE /v1/admin/keys/{keyId}': ['admin'],
    'POST /v1/admin/retention/run': ['admin'],
    'POST /v1/admin/timers/run': ['admin'],
    'GET /v1/monitor/providers': ['hotline', 'regulator', 'admin'],
    'GET /v1/monitor/countries': ['hotline', 'regulator', 'admin'],
    'GET /v1/monitor/distribution': ['hotline', 'regulator', 'admin'],
  },
};

/** Parameter values that pass the usual patterns, so a refusal comes from the guard, not the schema. */
function paramValue(name: string): string {
  if (name === 'n') return '1';
  if (name === 'keyId') return '0123456789abcdef';
  return 'no-such-thing-1';
}

function requestFor(route: RouteInfo, authorization: string | undefined) {
  const headers: Record<string, string> = authorization ? { authorization } : {};
  // Required query parameters are given, so that a route whose guard lets a role through cannot
  // hide behind the 400 of a missing parameter (the provider resolve route did).
  const query = new URLSearchParams(route.query.filter((q) => q.required).map((q): [string, string] => [q.name, String(sampleOf(q.schema))]));
  const url = `${urlOf(route, paramValue)}${query.size > 0 ? `?${query.toString()}` : ''}`;
  if (!route.hasBody) return { method: route.method as 'GET', url, headers };
  return { method: route.method as 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(sampleOf(route.bodySchema)) };
}

const HELMET_HEADERS = ['x-content-type-options', 'x-frame-options', 'strict-transport-security', 'referrer-policy', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'cross-origin-opener-policy'];

test('authorisation matrix, revocation, hashed key storage, security headers, and no secret in any log line', async (t) => {
  const env = infra(t);
  if (!env) return;
  const sys = await bootSystem(t, env, { logLevel: 'trace' });
  const problems: string[] = [];
  const d2: string[] = [];
  let checks = 0;

  for (const service of SERVICES) {
    const routes = await routesOf(sys.apps[service]);
    const roles = sys.roles[service];
    const spec = service === 'hash-check' ? undefined : MATRIX[service];
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      const allowed = spec?.[key];
      if (spec && !allowed) problems.push(`${service} ${key}: no rule in the matrix (add one)`);
      if (!route.secured) problems.push(`${service} ${key}: documented without a security requirement`);

      const none = await sys.apps[service].inject(requestFor(route, undefined));
      checks++;
      if (none.statusCode === 400) d2.push(`${service} ${key} (no credentials)`);
      else if (none.statusCode !== 401) problems.push(`${service} ${key} without credentials: ${none.statusCode} ${none.body.slice(0, 120)}`);
      if (!allowed) continue;

      for (const [role, authorization] of Object.entries(roles)) {
        const res = await sys.apps[service].inject(requestFor(route, authorization));
        checks++;
        const may = allowed.includes(role);
        if (may && (res.statusCode === 401 || res.statusCode === 403)) problems.push(`${service} ${key} as ${role}: refused (${res.statusCode}) but the matrix allows it`);
        if (!may && res.statusCode !== 403) {
          if (res.statusCode === 400) d2.push(`${service} ${key} as ${role}`);
          else problems.push(`${service} ${key} as ${role}: ${res.statusCode}, expected 403: ${res.body.slice(0, 120)}`);
        }
        if (res.statusCode >= 500) problems.push(`${service} ${key} as ${role}: ${res.statusCode}`);
      }
    }
    for (const [service2, spec2] of Object.entries(MATRIX)) {
      if (service2 !== service) continue;
      for (const key of Object.keys(spec2)) if (!routes.some((r) => `${r.method} ${r.path}` === key)) problems.push(`${service} ${key}: in the matrix but not in the OpenAPI document`);
    }

    // Security headers on success, refusal and not-found alike.
    for (const url of ['/health/live', '/v1/definitely-not-here', ...(routes[0] ? [urlOf(routes[0], paramValue)] : [])]) {
      const res = await sys.apps[service].inject({ method: 'GET', url });
      for (const h of HELMET_HEADERS) if (!res.headers[h]) problems.push(`${service} GET ${url} (${res.statusCode}): no ${h} header`);
      if (res.headers['x-powered-by']) problems.push(`${service} GET ${url}: x-powered-by is set`);
    }
  }
  t.diagnostic(`authorisation checks: ${checks}; refused with 400 before authentication (known defect D2): ${d2.length}`);

  // Revocation: the very next request with a revoked key is refused.
  const hotline = sys.roles.enforcement.hotline!;
  const before = await sys.apps.enforcement.inject({ method: 'GET', url: '/v1/cases', headers: { authorization: hotline } });
  assert.equal(before.statusCode, 200, before.body);
  const revoked = await sys.apps.enforcement.inject({ method: 'DELETE', url: `/v1/admin/keys/${sys.enforcementKeyIds.hotline}`, headers: { authorization: sys.roles.enforcement.admin! } });
  assert.equal(revoked.statusCode, 204, revoked.body);
  const after = await sys.apps.enforcement.inject({ method: 'GET', url: '/v1/cases', headers: { authorization: hotline } });
  assert.equal(after.statusCode, 401, `a revoked key still works: ${after.body}`);
  const again = await sys.apps.enforcement.inject({ method: 'DELETE', url: `/v1/admin/keys/${sys.enforcementKeyIds.hotline}`, headers: { authorization: sys.roles.enforcement.admin! } });
  assert.equal(again.statusCode, 404, 'revoking twice should say there is no active key');

  // Keys stored hashed: the key documents hold a SHA-256 and no part of any issued key or configured
  // secret appears anywhere in any of the four databases.
  const keyDocs = await sys.mongo.db(sys.databases.enforcement).collection('api_keys').find({}).toArray();
  assert.equal(keyDocs.length, 3);
  for (const k of keyDocs) assert.match(String(k.secretHash), /^[0-9a-f]{64}$/, 'an enforcement key is not stored as a SHA-256');
  let scanned = 0;
  for (const service of SERVICES) {
    const db = sys.mongo.db(sys.databases[service]);
    for (const c of await db.listCollections().toArray()) {
      const dump = JSON.stringify(await db.collection(c.name).find({}).toArray());
      scanned += dump.length;
      for (const s of sys.secrets) {
        if (dump.includes(s)) problems.push(`${service} database, collection ${c.name}, holds a secret in clear`);
      }
    }
  }
  t.diagnostic(`database bytes scanned for secrets: ${scanned}`);

  // No secret in any log line. The run above logged every request at trace level.
  const logs = sys.logLines.join('\n');
  assert.ok(sys.logLines.length > 100, `too few log lines to judge (${sys.logLines.length})`);
  for (const s of sys.secrets) {
    const hits = sys.logLines.filter((l) => l.includes(s));
    if (hits.length > 0) problems.push(`a secret appears in ${hits.length} log lines, e.g. ${hits[0]!.slice(0, 200)}`);
  }
  for (const pattern of [/Bearer [A-Za-z0-9_-]{8,}/, /"authorization":"(?!\[redacted\])/i]) {
    const hit = sys.logLines.find((l) => pattern.test(l));
    if (hit) problems.push(`credential-shaped text in a log line: ${hit.slice(0, 200)}`);
  }
  t.diagnostic(`log lines scanned: ${sys.logLines.length} (${logs.length} bytes) for ${sys.secrets.length} secrets`);

  assert.deepEqual(problems, []);
});
