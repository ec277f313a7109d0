import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type dns from 'node:dns';
import { parseAllowList } from '../domain/ssrf';
import { verifySignature } from '../domain/signature';
import { WebhookClient } from './webhook';
import type { Resolver } from './safe-lookup';

async function receiver(): Promise<{ port: number; hits: Array<{ headers: Record<string, unknown>; body: string }>; close: () => Promise<void> }> {
  const hits: Array<{ headers: Record<string, unknown>; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      res.writeHead(202, { 'x-request-id': 'r-1' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, hits, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** A name server an attacker controls: a public address first, then 127.0.0.1. */
function rebinding(): Resolver & { calls: number } {
  const fn = ((_host: string, _opts: dns.LookupAllOptions, cb: (err: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) => {
    fn.calls++;
    cb(null, [{ address: fn.calls === 1 ? '93.184.215.14' : '127.0.0.1', family: 4 }]);
  }) as Resolver & { calls: number };
  fn.calls = 0;
  return fn;
}

const call = (port: number, host = 'hooks.rebind.example') => ({ url: `http://${host}:${port}/hook`, body: '{"noticeId":"n-1"}', secret: 's', noticeId: 'n-1', at: new Date() });

test('the address is judged at connect time, so a name that rebinds to loopback is refused', async (t) => {
  const r = await receiver();
  t.after(() => r.close());
  const resolver = rebinding();
  resolver.calls = 1; // the "validation" lookup an attacker expects already happened and saw a public address
  const client = new WebhookClient({ timeoutMs: 2000, allowHttp: true, allowList: [], resolver });
  t.after(() => client.close());
  const out = await client.post(call(r.port));
  assert.equal(out.ok, false);
  assert.equal((out as { error: { code: string } }).error.code, 'HC_SSRF_REFUSED');
  assert.match((out as { error: Error }).error.message, /resolves to 127\.0\.0\.1: loopback address/);
  assert.equal(r.hits.length, 0, 'no byte reached the loopback receiver');
});

test('with the address allow-listed, the connection goes where the lookup said, signed and keyed', async (t) => {
  const r = await receiver();
  t.after(() => r.close());
  const resolver = rebinding();
  resolver.calls = 1;
  const client = new WebhookClient({ timeoutMs: 2000, allowHttp: true, allowList: parseAllowList('127.0.0.1/32'), resolver });
  t.after(() => client.close());
  const out = await client.post(call(r.port));
  assert.ok(out.ok, JSON.stringify(out));
  assert.equal(out.answer.status, 202);
  assert.equal(out.answer.receipt, 'r-1');
  assert.equal(r.hits.length, 1);
  const h = r.hits[0]!;
  assert.equal(h.headers['idempotency-key'], 'n-1');
  assert.equal(verifySignature(h.headers['hashcheck-signature'] as string, h.body, 's').ok, true);
});

test('IP literals are judged before any connection; unreachable hosts fail as retriable network errors', async (t) => {
  const client = new WebhookClient({ timeoutMs: 1000, allowHttp: true, allowList: [] });
  t.after(() => client.close());
  const refused = await client.post(call(9, '127.0.0.1'));
  assert.equal((refused as { error: { code: string } }).error.code, 'HC_SSRF_REFUSED');
  const allowed = new WebhookClient({ timeoutMs: 1000, allowHttp: true, allowList: parseAllowList('127.0.0.1') });
  t.after(() => allowed.close());
  const closed = await allowed.post(call(1, '127.0.0.1'));
  assert.equal(closed.ok, false);
  assert.match(String((closed as { error: { cause?: { code?: string }; code?: string } }).error.cause?.code ?? (closed as { error: { code?: string } }).error.code), /ECONNREFUSED/);
});
