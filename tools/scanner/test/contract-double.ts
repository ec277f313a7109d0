// CONTRACT TEST DOUBLE of the hash-check service's check APIs (services/hash-check), so the scanner
// can be tested before and independently of that service. It is a real HTTP server on 127.0.0.1
// implementing exactly the published contract, over an in-test hash set:
//   POST /v1/check            Bearer key; {"items":[{type,hash}]} (max 10,000) ->
//                             {"results":[{index,match,matches?}|{index,error}]}; 401/403/413/429
//   POST /v1/check/{md5|sha1} EOKM form: Basic auth, body = hash, answer `true` / `false`
// The end-to-end suite runs the scanner against the real service. Kafka and MongoDB are never faked.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListedHash {
  readonly type: 'md5' | 'sha1' | 'sha256' | 'pdq';
  readonly hash: string;
  readonly list: string;
  readonly listName: string;
  readonly category: string;
}

export interface ScriptedResponse {
  readonly status: number;
  readonly retryAfter?: string;
  readonly body?: string;
}

export interface DoubleOptions {
  readonly key?: string;
  /** A key that authenticates but lacks the check scope (403). */
  readonly keyWithoutScope?: string;
  readonly entries?: readonly ListedHash[];
  readonly pdqThreshold?: number;
  readonly maxItems?: number;
  /** Answers for the first requests, before the real behaviour. */
  readonly script?: readonly ScriptedResponse[];
  readonly eokmUser?: string;
  readonly eokmPassword?: string;
  /** Delay every answer (to test concurrency and interruption). */
  readonly delayMs?: number;
}

export interface RequestLog {
  readonly path: string;
  readonly status: number;
  readonly items: number;
  readonly at: number;
}

export interface ContractDouble {
  readonly url: string;
  readonly requests: RequestLog[];
  /** Most requests in flight at once. */
  readonly maxInFlight: () => number;
  close(): Promise<void>;
}

const HEX: Record<string, number> = { md5: 32, sha1: 40, sha256: 64, pdq: 64 };

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

function hamming(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 64; i += 8) d += popcount((parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0);
  return d;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startContractDouble(options: DoubleOptions = {}): Promise<ContractDouble> {
  const key = options.key ?? 'test-key';
  const entries = options.entries ?? [];
  const threshold = options.pdqThreshold ?? 31;
  const maxItems = options.maxItems ?? 10_000;
  const script = [...(options.script ?? [])];
  const requests: RequestLog[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const exact = new Map<string, ListedHash[]>();
  for (const e of entries) {
    if (e.type === 'pdq') continue;
    const k = `${e.type}:${e.hash}`;
    exact.set(k, [...(exact.get(k) ?? []), e]);
  }
  const pdqEntries = entries.filter((e) => e.type === 'pdq');

  const server: Server = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    void (async () => {
      const body = await readBody(req);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const send = (status: number, payload: string, headers: Record<string, string> = {}, items = 0) => {
        requests.push({ path: req.url ?? '', status, items, at: Date.now() });
        res.writeHead(status, { 'content-type': payload.startsWith('{') ? 'application/json' : 'text/plain', ...headers });
        res.end(payload);
      };
      const scripted = script.shift();
      if (scripted) {
        return send(scripted.status, scripted.body ?? JSON.stringify({ error: { code: 'SCRIPTED', message: 'scripted' } }), scripted.retryAfter ? { 'retry-after': scripted.retryAfter } : {});
      }
      const eokm = /^\/v1\/check\/(md5|sha1)$/.exec(req.url ?? '');
      if (req.method === 'POST' && eokm) {
        const expected = `Basic ${Buffer.from(`${options.eokmUser ?? 'user'}:${options.eokmPassword ?? 'secret'}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return send(401, 'unauthorized');
        const hash = body.trim().toLowerCase();
        if (hash.length !== HEX[eokm[1]!] || !/^[0-9a-f]+$/.test(hash)) return send(400, 'invalid hash');
        return send(200, exact.has(`${eokm[1]}:${hash}`) ? 'true' : 'false', {}, 1);
      }
      if (req.method !== 'POST' || req.url !== '/v1/check') return send(404, JSON.stringify({ error: { code: 'HC_NOT_FOUND', message: 'not found' } }));
      const auth = req.headers.authorization ?? '';
      if (options.keyWithoutScope && auth === `Bearer ${options.keyWithoutScope}`) {
        return send(403, JSON.stringify({ error: { code: 'HC_FORBIDDEN', message: 'key lacks the check scope' } }));
      }
      if (auth !== `Bearer ${key}`) return send(401, JSON.stringify({ error: { code: 'HC_UNAUTHORIZED', message: 'bad key' } }));
      let items: Array<{ type?: unknown; hash?: unknown }>;
      try {
        const parsed = JSON.parse(body) as { items?: unknown };
        if (!Array.isArray(parsed.items)) throw new Error('items');
        items = parsed.items as typeof items;
      } catch {
        return send(400, JSON.stringify({ error: { code: 'HC_VALIDATION', message: 'body must be {"items":[...]}' } }));
      }
      if (items.length > maxItems) {
        return send(413, JSON.stringify({ error: { code: 'HC_PAYLOAD_TOO_LARGE', message: `at most ${maxItems} items` } }), {}, items.length);
      }
      const results = items.map((it, index) => {
        const type = String(it.type);
        const hash = String(it.hash);
        if (!(type in HEX) || hash.length !== HEX[type] || !/^[0-9a-f]+$/.test(hash)) {
          return { index, error: { code: 'HC_INVALID_HASH', message: `not a ${type} hash` } };
        }
        if (type === 'pdq') {
          const matches = pdqEntries
            .map((e) => ({ e, distance: hamming(e.hash, hash) }))
            .filter((m) => m.distance <= threshold)
            .map((m) => ({ list: m.e.list, listName: m.e.listName, category: m.e.category, distance: m.distance }));
          return matches.length ? { index, match: true, matches } : { index, match: false };
        }
        const hits = exact.get(`${type}:${hash}`);
        return hits
          ? { index, match: true, matches: hits.map((e) => ({ list: e.list, listName: e.listName, category: e.category, distance: 0 })) }
          : { index, match: false };
      });
      return send(200, JSON.stringify({ results }), {}, items.length);
    })()
      .catch((err: Error) => {
        res.writeHead(500);
        res.end(err.message);
      })
      .finally(() => inFlight--);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
