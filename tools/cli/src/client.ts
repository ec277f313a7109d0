import { createReadStream, statSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';

/** An error answered by the API, with its code (HC_*) and HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  api: string;
  key: string;
  fetch?: typeof fetch;
}

/** A thin client over the hash-check HTTP API (Bearer key). */
export class HashCheckClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.api.endsWith('/') ? opts.api : `${opts.api}/`;
    this.doFetch = opts.fetch ?? fetch;
  }

  private url(path: string, query?: Record<string, string | undefined>): string {
    const u = new URL(path.replace(/^\//, ''), this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    const res = await this.doFetch(this.url(path, query), {
      method,
      headers: { authorization: `Bearer ${this.opts.key}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return this.answer<T>(res);
  }

  private async answer<T>(res: Response): Promise<T> {
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText), e?.details);
    }
    return json as T;
  }

  /**
   * Streams a list file to POST /v1/lists/{id}/releases, reporting bytes sent. The server stores
   * chunks as they arrive, so the upload advances at the speed of the import: a true progress.
   */
  async importFile(listId: string, file: string, q: { mode?: string; format?: string; type?: string; activate?: boolean; note?: string; maxErrors?: number }, onProgress?: (sent: number, total: number) => void): Promise<ImportResult> {
    const total = statSync(file).size;
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        onProgress?.(sent, total);
        done(null, chunk);
      },
    });
    const body = Readable.toWeb(createReadStream(file).pipe(counter)) as unknown as ReadableStream<Uint8Array>;
    const format = q.format ?? formatOf(file);
    const contentType = format === 'csv' ? 'text/csv' : format === 'text' ? 'text/plain' : 'application/x-ndjson';
    const res = await this.doFetch(
      this.url(`v1/lists/${encodeURIComponent(listId)}/releases`, {
        mode: q.mode,
        format,
        type: q.type,
        activate: q.activate ? 'true' : undefined,
        note: q.note,
        maxErrors: q.maxErrors === undefined ? undefined : String(q.maxErrors),
      }),
      { method: 'POST', headers: { authorization: `Bearer ${this.opts.key}`, 'content-type': contentType, accept: 'application/json' }, body, duplex: 'half' } as RequestInit,
    );
    return this.answer<ImportResult>(res);
  }
}

export interface ReleaseInfo {
  id: string;
  listId: string;
  mode: string;
  status: string;
  lines: number;
  counts: { add: Record<string, number>; retract: Record<string, number> };
  errorCount: number;
  errors?: { line: number; reason: string }[];
  failure?: string;
  createdAt: string;
  activatedAt?: string;
}

export interface ImportResult {
  release: ReleaseInfo;
  activated: boolean;
}

export function formatOf(file: string): 'ndjson' | 'csv' | 'text' {
  const f = file.toLowerCase();
  if (f.endsWith('.csv')) return 'csv';
  if (f.endsWith('.txt') || f.endsWith('.md5') || f.endsWith('.sha1') || f.endsWith('.lst')) return 'text';
  return 'ndjson';
}
