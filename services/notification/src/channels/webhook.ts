import { Agent, request } from 'undici';
import { createHash } from 'node:crypto';
import { HashCheckError } from '@hashcheck/errors';
import { IDEMPOTENCY_HEADER, NOTICE_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from '../domain/signature';
import { checkWebhookUrl, type AllowedRange } from '../domain/ssrf';
import { guardedLookup, SSRF_REFUSED, type Resolver } from './safe-lookup';

export interface WebhookClientOptions {
  timeoutMs: number;
  allowHttp: boolean;
  allowList: readonly AllowedRange[];
  userAgent?: string;
  /** For tests of the rebinding defence; production resolves with the system resolver. */
  resolver?: Resolver;
}

export interface WebhookCall {
  url: string;
  body: string;
  secret: string;
  noticeId: string;
  at: Date;
}

export interface WebhookAnswer {
  status: number;
  receipt?: string;
  responseSha256: string;
  responseSnippet: string;
}

export type WebhookOutcome = { ok: true; answer: WebhookAnswer } | { ok: false; error: unknown };

const SNIPPET_BYTES = 1024;
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs signed notices. Every connection goes through the guarded lookup; IP-literal URLs (which
 * need no lookup) are judged before the call. Redirects are never followed.
 */
export class WebhookClient {
  readonly #agent: Agent;

  constructor(private readonly options: WebhookClientOptions) {
    this.#agent = new Agent({
      connect: { lookup: guardedLookup(options.allowList, options.resolver), timeout: options.timeoutMs },
      keepAliveTimeout: 4_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  async post(call: WebhookCall): Promise<WebhookOutcome> {
    const verdict = checkWebhookUrl(call.url, { allowHttp: this.options.allowHttp, allowList: this.options.allowList });
    if (!verdict.ok) return { ok: false, error: new HashCheckError(SSRF_REFUSED, verdict.reason) };
    try {
      const res = await request(verdict.url, {
        method: 'POST',
        dispatcher: this.#agent,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': this.options.userAgent ?? 'HashCheck-Notification/1',
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(call.secret, call.body, call.at),
          [IDEMPOTENCY_HEADER.toLowerCase()]: call.noticeId,
          [NOTICE_ID_HEADER.toLowerCase()]: call.noticeId,
        },
        body: call.body,
      });
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        // A receiver may answer with anything; only a bounded prefix is read and kept.
        if (size > MAX_RESPONSE_BYTES) {
          res.body.destroy();
          break;
        }
        hash.update(buf);
        if (Buffer.concat(kept).length < SNIPPET_BYTES) kept.push(buf);
      }
      const receiptHeader = res.headers['x-request-id'] ?? res.headers['hashcheck-receipt'];
      const receipt = Array.isArray(receiptHeader) ? receiptHeader[0] : receiptHeader;
      return {
        ok: true,
        answer: {
          status: res.statusCode,
          ...(receipt ? { receipt: receipt.slice(0, 500) } : {}),
          responseSha256: hash.digest('hex'),
          responseSnippet: Buffer.concat(kept).subarray(0, SNIPPET_BYTES).toString('utf8'),
        },
      };
    } catch (err) {
      return { ok: false, error: ssrfCause(err) ?? err };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** undici reports a refused lookup as a connect error; surface the refusal itself so it is not retried. */
function ssrfCause(err: unknown): unknown {
  let e: unknown = err;
  for (let i = 0; i < 5 && typeof e === 'object' && e !== null; i++) {
    if ((e as { code?: unknown }).code === SSRF_REFUSED) return new HashCheckError(SSRF_REFUSED, (e as Error).message);
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
