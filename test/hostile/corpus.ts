/**
 * The hostile HTTP corpus: for a route (read from the service's own OpenAPI document), the requests
 * an attacker or a broken client sends, each with the precise answer it must get.
 */
import type { InjectOptions } from 'fastify';
import type { RouteInfo, Schema } from './system';
import { urlOf } from './system';

export interface HostileCase {
  name: string;
  request: InjectOptions;
  /** Acceptable status codes; every one is a 4xx. */
  expect: number[];
  /** Expected error code, when it is fixed. */
  code?: string;
  /** Text the error must mention (the offending field), when it is fixed. */
  mentions?: string;
  /**
   * A 200 is also right when the hostile part was taken as inert data: the answer equals the answer
   * to this request without it (an ignored query parameter) ...
   */
  sameAs?: InjectOptions;
  /** ... or echoes this value back as a plain JSON string (an id looked up literally). */
  literal?: string;
}

/** Above every JSON route's limit: 1 MiB by default, 2 MiB on hash-check's bulk check. */
export const BODY_LIMIT = 4 * 1_048_576;
const JSON_CT = { 'content-type': 'application/json' };

/** Path parameter values that must never reach a handler as anything but an opaque, refused string. */
export const HOSTILE_PARAMS: Array<[string, string]> = [
  ['NUL byte', '%00'],
  ['CR LF header injection', 'a%0d%0aSet-Cookie:%20x=1'],
  ['path traversal', '..%2F..%2F..%2Fetc%2Fpasswd'],
  ['operator object as text', encodeURIComponent('{"$gt":""}')],
  ['$where', encodeURIComponent('$where')],
  ['Cyrillic confusable', encodeURIComponent('аdmin-hоsting')],
  ['RTL override', encodeURIComponent('abc\u202Egpj.exe')],
  ['zero-width joiner', encodeURIComponent('ab\u200Dc')],
  ['fullwidth solidus', encodeURIComponent('a\uFF0Fb')],
  ['emoji', encodeURIComponent('💥')],
  ['broken percent-encoding', '%E0%A4%A'],
  ['overlong UTF-8', '%C0%AF'],
  ['very long', 'a'.repeat(5000)],
  ['bell and escape', '%07%1B%5B31m'],
];

/** A body that satisfies the shape of a schema well enough to be a template (values are placeholders). */
export function sampleOf(schema: Schema | undefined, depth = 0): unknown {
  if (!schema || depth > 6) return 'x';
  const alt = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (alt) return sampleOf(alt, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = sampleOf(v, depth + 1);
      return out;
    }
    case 'array':
      return [sampleOf(schema.items, depth + 1)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return 'sample-value-1';
  }
}

function stringProps(schema: Schema | undefined): string[] {
  const s = schema?.anyOf?.[0] ?? schema?.oneOf?.[0] ?? schema;
  return Object.entries(s?.properties ?? {})
    .filter(([, v]) => {
      const t = v.anyOf?.[0]?.type ?? v.type;
      return t === 'string';
    })
    .map(([k]) => k);
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

function nestedObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

export function corpusFor(route: RouteInfo, auth: string | undefined): HostileCase[] {
  const cases: HostileCase[] = [];
  const headers = auth ? { authorization: auth } : {};
  const url = urlOf(route);
  const method = route.method as InjectOptions['method'];
  const withBody = (payload: string | Buffer, extra: Record<string, string> = JSON_CT): InjectOptions => ({ method, url, headers: { ...headers, ...extra }, payload });

  if (route.secured) {
    cases.push({ name: 'no credentials', request: { method, url, ...(route.hasBody ? { headers: JSON_CT, payload: '{}' } : {}) }, expect: [401], code: 'HC_UNAUTHORIZED' });
    for (const [name, value] of [
      ['unknown bearer key', 'Bearer not-a-key'],
      ['empty bearer', 'Bearer '],
      ['basic instead of bearer', `Basic ${Buffer.from('admin:admin').toString('base64')}`],
      ['operator object as key', 'Bearer {"$gt":""}'],
      ['enforcement-shaped forged key', `Bearer hck_0123456789abcdef_${'A'.repeat(43)}`],
      ['8 KiB key', `Bearer ${'k'.repeat(8192)}`],
      ['two keys', 'Bearer a, Bearer b'],
    ] as const) {
      cases.push({ name, request: { method, url, headers: { authorization: value, ...(route.hasBody ? JSON_CT : {}) }, ...(route.hasBody ? { payload: '{}' } : {}) }, expect: [401], code: 'HC_UNAUTHORIZED' });
    }
  }

  for (const param of route.params) {
    for (const [name, value] of HOSTILE_PARAMS) {
      const u = urlOf(route, (p) => (p === param ? value : 'does-not-exist-1'));
      const request: InjectOptions = { method, url: u, headers: { ...headers, ...(route.hasBody ? JSON_CT : {}) }, ...(route.hasBody ? { payload: JSON.stringify(sampleOf(route.bodySchema)) } : {}) };
      // Refused by the parameter's schema (400), an honest "no such thing" (404) or a URI too long
      // (414); never a 5xx. A GET that treats the value as a literal id may answer about it.
      // A Basic-only route refuses the bearer key before it looks at the path (401), which is right too.
      const c: HostileCase = { name: `path {${param}}: ${name}`, request, expect: route.basicOnly ? [400, 401, 404, 414] : [400, 404, 414] };
      if (route.method === 'GET') c.literal = safeDecode(value);
      cases.push(c);
    }
  }

  if (route.query.length > 0) {
    const q = route.query[0]!.name;
    const plain: InjectOptions = { method, url, headers };
    cases.push({ name: `query ${q}[$ne]`, request: { method, url: `${url}?${q}[$ne]=x`, headers }, expect: [400], code: 'HC_VALIDATION', sameAs: plain });
    cases.push({ name: 'query unknown parameter $where', request: { method, url: `${url}?$where=sleep(1000)`, headers }, expect: [400], code: 'HC_VALIDATION', sameAs: plain });
    for (const { name, schema } of route.query) {
      if (schema.type === 'integer' || schema.type === 'number') {
        cases.push({ name: `query ${name}=abc`, request: { method, url: `${url}?${name}=abc`, headers }, expect: [400], code: 'HC_VALIDATION', mentions: name });
        cases.push({ name: `query ${name}=-1e309`, request: { method, url: `${url}?${name}=-1e309`, headers }, expect: [400], code: 'HC_VALIDATION', mentions: name });
      }
    }
  }

  if (route.hasBody) {
    const sample = JSON.stringify(sampleOf(route.bodySchema));
    cases.push({ name: 'malformed JSON', request: withBody('{"a": tru'), expect: [400], code: 'HC_MALFORMED_BODY' });
    cases.push({ name: 'truncated JSON', request: withBody(sample.slice(0, Math.max(1, Math.floor(sample.length / 2)))), expect: [400], code: 'HC_MALFORMED_BODY' });
    cases.push({ name: 'empty JSON body', request: withBody(''), expect: [400], code: 'HC_MALFORMED_BODY' });
    cases.push({ name: 'invalid UTF-8 in JSON', request: withBody(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])), expect: [400] });
    cases.push({ name: '__proto__ pollution', request: withBody('{"__proto__":{"isAdmin":true}}'), expect: [400] });
    cases.push({ name: 'constructor.prototype pollution', request: withBody('{"constructor":{"prototype":{"isAdmin":true}}}'), expect: [400] });
    for (const [name, payload] of [['array', '[]'], ['string', '"x"'], ['number', '42'], ['null', 'null'], ['boolean', 'true']] as const) {
      cases.push({ name: `body is ${name}`, request: withBody(payload), expect: [400] });
    }
    // fastify parses text/plain into a string, which the body schema then refuses.
    cases.push({ name: 'text/plain body', request: withBody(sample, { 'content-type': 'text/plain' }), expect: [400, 415] });
    cases.push({ name: 'form body', request: withBody('a=1', { 'content-type': 'application/x-www-form-urlencoded' }), expect: [415], code: 'HC_UNSUPPORTED_MEDIA_TYPE' });
    cases.push({ name: 'body over the limit (4 MiB + 1)', request: withBody(`{"a":"${'x'.repeat(BODY_LIMIT)}"}`), expect: [413], code: 'HC_PAYLOAD_TOO_LARGE' });
    cases.push({ name: 'content-length lies (too large)', request: { ...withBody('{}'), headers: { ...headers, ...JSON_CT, 'content-length': String(BODY_LIMIT * 10) } }, expect: [400, 413] });
    cases.push({ name: 'array of 200 000 items', request: withBody(`{"reports":[${new Array(200_000).fill('0').join(',')}],"items":[]}`), expect: [400] });
    cases.push({ name: 'arrays nested 20 000 deep', request: withBody(nested(20_000)), expect: [400] });
    cases.push({ name: 'objects nested 20 000 deep', request: withBody(nestedObject(20_000)), expect: [400] });
    for (const prop of stringProps(route.bodySchema)) {
      const body = { ...(sampleOf(route.bodySchema) as Record<string, unknown>), [prop]: { $gt: '' } };
      cases.push({ name: `operator injection in ${prop}`, request: withBody(JSON.stringify(body)), expect: [400], mentions: prop });
      const ne = { ...(sampleOf(route.bodySchema) as Record<string, unknown>), [prop]: { $ne: null, $where: 'sleep(5000)' } };
      cases.push({ name: `$ne/$where in ${prop}`, request: withBody(JSON.stringify(ne)), expect: [400], mentions: prop });
    }
  }
  return cases;
}
