import { ErrorCode, HashCheckError, isHashCheckError } from '@hashcheck/errors';

/** Hash types the bulk check API accepts. */
export type CheckType = 'md5' | 'sha1' | 'sha256' | 'pdq';

export interface CheckItem {
  readonly type: CheckType;
  /** Lowercase hex. */
  readonly hash: string;
}

export interface ListMatch {
  readonly list: string;
  readonly listName?: string;
  readonly category?: string;
  /** Hamming distance for PDQ, 0 for exact digests. */
  readonly distance?: number;
}

export type ItemResult =
  | { readonly match: false }
  | { readonly match: true; readonly matches: readonly ListMatch[] }
  | { readonly error: { readonly code: string; readonly message: string } };

/** Something that checks hashes against lists: the bulk API, or the EOKM single-hash API. */
export interface Checker {
  /** Largest number of items one `check` call takes. */
  readonly maxBatch: number;
  /** Types this checker can ask about; other hashes are not sent. */
  readonly types: readonly CheckType[];
  /** One result per item, in order. Throws a HashCheckError when the batch as a whole failed. */
  check(items: readonly CheckItem[], signal?: AbortSignal): Promise<ItemResult[]>;
}

export const ApiErrorCode = {
  UNAUTHORIZED: ErrorCode.UNAUTHORIZED,
  FORBIDDEN: ErrorCode.FORBIDDEN,
  PAYLOAD_TOO_LARGE: ErrorCode.PAYLOAD_TOO_LARGE,
  /** Network failure, timeout, 429 or 5xx after every retry. */
  UNAVAILABLE: 'SCAN_API_UNAVAILABLE',
  /** The server answered something that does not follow the contract. */
  BAD_RESPONSE: 'SCAN_API_BAD_RESPONSE',
  /** Another 4xx: the request itself is wrong. */
  REJECTED: 'SCAN_API_REJECTED',
} as const;

/** 401 and 403 end the scan: every further request would fail the same way. */
export function isFatalApiError(err: unknown): boolean {
  return isHashCheckError(err) && (err.code === ApiErrorCode.UNAUTHORIZED || err.code === ApiErrorCode.FORBIDDEN);
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Longest Retry-After honoured; a server asking for more gets this. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 };

/** Milliseconds from a Retry-After header (delta-seconds or HTTP-date), or null when absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/**
 * Delay before retry number `attempt` (0-based): the server's Retry-After when given (never less),
 * else exponential backoff with jitter between half and the full step.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | null, policy: RetryPolicy, random = Math.random): number {
  if (retryAfterMs !== null) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(step / 2 + (random() * step) / 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface HttpOptions {
  readonly retry?: RetryPolicy;
  /** Per-request timeout. */
  readonly timeoutMs?: number;
  /** Told about each retry, for the operator's log. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  readonly fetch?: typeof fetch;
}

type Attempt = { ok: true; response: Response; body: string } | { ok: false; retriable: boolean; reason: string; retryAfterMs: number | null; error?: HashCheckError };

function statusError(status: number, body: string): HashCheckError {
  const detail = body.slice(0, 200).replace(/\s+/g, ' ').trim();
  const suffix = detail ? `: ${detail}` : '';
  if (status === 401) return new HashCheckError(ApiErrorCode.UNAUTHORIZED, `API refused the key (401)${suffix}`);
  if (status === 403) return new HashCheckError(ApiErrorCode.FORBIDDEN, `API key lacks the scope for this check (403)${suffix}`);
  if (status === 413) return new HashCheckError(ApiErrorCode.PAYLOAD_TOO_LARGE, `API says the batch is too large (413)${suffix}`);
  return new HashCheckError(ApiErrorCode.REJECTED, `API rejected the request (${status})${suffix}`);
}

/**
 * One HTTP request with retries on network errors, timeouts, 429 and 5xx (honouring Retry-After).
 * Resolves with a 2xx response and its body text; throws a HashCheckError otherwise.
 */
export async function requestWithRetry(
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
  options: HttpOptions & { signal?: AbortSignal } = {},
): Promise<{ response: Response; body: string }> {
  const policy = options.retry ?? DEFAULT_RETRY;
  const doFetch = options.fetch ?? fetch;
  let last: Attempt | undefined;
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const response = await doFetch(url, { ...init, signal });
      const body = await response.text();
      if (response.ok) return { response, body };
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (response.status === 429 || response.status >= 500) {
        last = { ok: false, retriable: true, reason: `HTTP ${response.status}`, retryAfterMs };
      } else {
        throw statusError(response.status, body);
      }
    } catch (err) {
      if (isHashCheckError(err)) throw err;
      if (options.signal?.aborted) throw err;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.cause?.message ?? e.message);
      last = { ok: false, retriable: true, reason: `request failed: ${why}`, retryAfterMs: null };
    }
    if (attempt === policy.retries) break;
    const delayMs = retryDelayMs(attempt, last.ok ? null : last.retryAfterMs, policy);
    options.onRetry?.({ attempt: attempt + 1, delayMs, reason: last.ok ? '' : last.reason });
    await sleep(delayMs, options.signal);
  }
  const reason = last && !last.ok ? last.reason : 'unknown';
  throw new HashCheckError(ApiErrorCode.UNAVAILABLE, `API unavailable at ${url} after ${policy.retries + 1} attempts (${reason})`, { retriable: true });
}

function parseBulkResults(body: string, count: number): ItemResult[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HashCheckError(ApiErrorCode.BAD_RESPONSE, 'API answered with invalid JSON');
  }
  const results = (parsed as { results?: unknown } | null)?.results;
  if (!Array.isArray(results) || results.length !== count) {
    throw new HashCheckError(ApiErrorCode.BAD_RESPONSE, `API answered ${Array.isArray(results) ? results.length : 'no'} results for ${count} items`);
  }
  const out: ItemResult[] = new Array<ItemResult>(count);
  results.forEach((r: unknown, i) => {
    const o = r as { index?: unknown; match?: unknown; matches?: unknown; error?: { code?: unknown; message?: unknown } } | null;
    const index = typeof o?.index === 'number' ? o.index : i;
    if (!o || index < 0 || index >= count || !Number.isInteger(index)) {
      throw new HashCheckError(ApiErrorCode.BAD_RESPONSE, `API result ${i} has a bad index`);
    }
    if (o.error) {
      out[index] = { error: { code: String(o.error.code ?? 'UNKNOWN'), message: String(o.error.message ?? '') } };
    } else if (o.match === true) {
      const matches = Array.isArray(o.matches) ? (o.matches as ListMatch[]) : [];
      out[index] = { match: true, matches };
    } else {
      out[index] = { match: false };
    }
  });
  for (let i = 0; i < count; i++) {
    if (!out[i]) throw new HashCheckError(ApiErrorCode.BAD_RESPONSE, `API gave no result for item ${i}`);
  }
  return out;
}

/** Contract limit of the bulk API. */
export const BULK_MAX_ITEMS = 10_000;

/** `POST {api}/v1/check` with a Bearer key and up to 10,000 items. */
export class BulkChecker implements Checker {
  readonly maxBatch: number;
  readonly types: readonly CheckType[] = ['md5', 'sha1', 'sha256', 'pdq'];
  private readonly url: string;

  constructor(
    apiBase: string,
    private readonly key: string,
    private readonly http: HttpOptions = {},
    maxBatch = BULK_MAX_ITEMS,
  ) {
    this.url = new URL('v1/check', apiBase.endsWith('/') ? apiBase : apiBase + '/').toString();
    this.maxBatch = Math.min(BULK_MAX_ITEMS, Math.max(1, maxBatch));
  }

  async check(items: readonly CheckItem[], signal?: AbortSignal): Promise<ItemResult[]> {
    if (items.length === 0) return [];
    try {
      const { body } = await requestWithRetry(
        this.url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}`, accept: 'application/json' },
          body: JSON.stringify({ items: items.map((i) => ({ type: i.type, hash: i.hash })) }),
        },
        { ...this.http, ...(signal ? { signal } : {}) },
      );
      return parseBulkResults(body, items.length);
    } catch (err) {
      // A server with a lower limit than the contract's: halve and go on rather than give up.
      if (isHashCheckError(err) && err.code === ApiErrorCode.PAYLOAD_TOO_LARGE && items.length > 1) {
        const mid = Math.ceil(items.length / 2);
        const a = await this.check(items.slice(0, mid), signal);
        const b = await this.check(items.slice(mid), signal);
        return [...a, ...b];
      }
      throw err;
    }
  }
}

/** Match entry used for answers of the EOKM API, which says only true or false. */
export const EOKM_LIST = 'eokm';

/**
 * The Dutch HashCheck single-hash API: `POST {api}/v1/check/{md5|sha1}`, HTTP Basic auth, body =
 * the hash, answer `true` or `false`. Requests run `concurrency` at a time.
 */
export class EokmChecker implements Checker {
  readonly maxBatch = 1000;
  readonly types: readonly CheckType[];
  private readonly base: string;
  private readonly auth: string;

  constructor(
    apiBase: string,
    credentials: string,
    private readonly http: HttpOptions = {},
    private readonly concurrency = 8,
    types: readonly ('md5' | 'sha1')[] = ['md5', 'sha1'],
  ) {
    this.base = apiBase.endsWith('/') ? apiBase : apiBase + '/';
    this.auth = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
    this.types = types;
  }

  private async one(item: CheckItem, signal?: AbortSignal): Promise<ItemResult> {
    if (item.type !== 'md5' && item.type !== 'sha1') {
      return { error: { code: 'SCAN_TYPE_UNSUPPORTED', message: `EOKM API has no ${item.type} check` } };
    }
    const { body } = await requestWithRetry(
      new URL(`v1/check/${item.type}`, this.base).toString(),
      { method: 'POST', headers: { authorization: this.auth, 'content-type': 'text/plain', accept: 'text/plain' }, body: item.hash },
      { ...this.http, ...(signal ? { signal } : {}) },
    );
    const answer = body.trim().toLowerCase();
    if (answer === 'true') return { match: true, matches: [{ list: EOKM_LIST, distance: 0 }] };
    if (answer === 'false') return { match: false };
    throw new HashCheckError(ApiErrorCode.BAD_RESPONSE, `EOKM API answered ${JSON.stringify(body.slice(0, 40))}, expected true or false`);
  }

  async check(items: readonly CheckItem[], signal?: AbortSignal): Promise<ItemResult[]> {
    const out: ItemResult[] = new Array<ItemResult>(items.length);
    let next = 0;
    const lane = async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await this.one(items[i]!, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, lane));
    return out;
  }
}
