// Where index bases are built: in the calling thread (InlineBuilder: blocks the event loop for the
// O(n) sort, ~1 s per 1.4 M exact hashes) or in a worker thread (WorkerBuilder: the event loop only
// copies the live entries out and swaps the finished arrays in).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildExactBase, buildPdqBase } from './base-build';
import type { ExactBase, PdqBase } from './base-build';

export interface BaseBuilder {
  /** Sorts and lays out `n` exact entries; takes ownership of `keys` and `refs` (they may be transferred). */
  buildExact(keys: Uint32Array, refs: Uint32Array, width: number, n: number): Promise<ExactBase>;
  /** Builds the PDQ multi-index tables; takes ownership of `hashes` and `refs`. */
  buildPdq(hashes: Int32Array, refs: Uint32Array, n: number): Promise<PdqBase>;
  close(): Promise<void>;
}

/** @internal Messages between WorkerBuilder and base-worker.ts. */
export type BuildJob =
  | { id: number; kind: 'exact'; keys: Uint32Array; refs: Uint32Array; width: number; n: number }
  | { id: number; kind: 'pdq'; hashes: Int32Array; refs: Uint32Array; n: number };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type JobInput = DistributiveOmit<BuildJob, 'id'>;
/** @internal */
export type BuildReply =
  | { id: number; ok: true; kind: 'exact'; base: ExactBase }
  | { id: number; ok: true; kind: 'pdq'; base: PdqBase }
  | { id: number; ok: false; message: string };

/** Builds in the calling thread (tests, tools, start-up when nothing is being served). */
export class InlineBuilder implements BaseBuilder {
  buildExact(keys: Uint32Array, refs: Uint32Array, width: number, n: number): Promise<ExactBase> {
    return Promise.resolve(buildExactBase(keys, refs, width, n));
  }
  buildPdq(hashes: Int32Array, refs: Uint32Array, n: number): Promise<PdqBase> {
    return Promise.resolve(buildPdqBase(hashes, refs, n));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface WorkerBuilderOptions {
  /** Called once when the worker cannot run (it then builds inline, as InlineBuilder). */
  onFallback?: (err: Error) => void;
}

interface Pending {
  resolve: (reply: BuildReply) => void;
  reject: (err: Error) => void;
}

/**
 * Builds in one worker thread, started on first use and kept (unref'd while idle: it never holds
 * the process open). The arrays travel both ways as transfers, not copies. If the worker cannot
 * start, builds run inline instead (slower for the event loop, never wrong); if it dies during a
 * build, that build fails (its input was handed over) and the caller retries.
 */
export class WorkerBuilder implements BaseBuilder {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private broken: Error | undefined;
  private readonly inline = new InlineBuilder();

  constructor(private readonly options: WorkerBuilderOptions = {}) {}

  /** Why builds run inline, if they do. */
  get fallbackReason(): Error | undefined {
    return this.broken;
  }

  private starting: Promise<Worker | undefined> | undefined;
  private closing = false;

  /** The worker once its module has loaded; undefined (and `broken` set) when it cannot run. */
  private start(): Promise<Worker | undefined> {
    if (this.starting) return this.starting;
    this.starting = new Promise<Worker | undefined>((resolve) => {
      let worker: Worker;
      try {
        worker = spawnWorker();
      } catch (err) {
        this.markBroken(err as Error);
        resolve(undefined);
        return;
      }
      let ready = false;
      // Referenced while it starts (someone awaits it), unreferenced while idle.
      worker.on('message', (msg: BuildReply | { ready: true }) => {
        if ('ready' in msg) {
          ready = true;
          worker.unref();
          this.worker = worker;
          resolve(worker);
          return;
        }
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        p.resolve(msg);
      });
      const fail = (err: Error): void => {
        if (!ready) resolve(undefined);
        if (this.closing) return;
        this.markBroken(err);
        if (this.worker === worker) this.worker = undefined;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`index build worker exited with code ${code}`)));
    });
    return this.starting;
  }

  private markBroken(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    this.options.onFallback?.(err);
  }

  /** Sends a job to the worker; undefined when the worker cannot run (nothing was transferred then). */
  private async run(job: JobInput, transfer: ArrayBuffer[]): Promise<BuildReply | undefined> {
    const worker = this.broken ? undefined : await this.start();
    if (!worker || this.broken) return undefined;
    const id = this.nextId++;
    try {
      return await new Promise<BuildReply>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        // While a build is pending the worker keeps the process alive (a caller awaits it).
        worker.ref();
        worker.postMessage({ ...job, id }, transfer);
      });
    } finally {
      // Also when postMessage threw: a job left pending would keep the worker referenced for good.
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
    }
  }

  async buildExact(keys: Uint32Array, refs: Uint32Array, width: number, n: number): Promise<ExactBase> {
    const reply = await this.run({ kind: 'exact', keys, refs, width, n }, unique([keys.buffer, refs.buffer]));
    if (reply === undefined) return this.inline.buildExact(keys, refs, width, n);
    if (!reply.ok) throw new Error(`index build failed: ${reply.message}`);
    if (reply.kind !== 'exact') throw new Error('index build worker answered with the wrong kind');
    return reply.base;
  }

  async buildPdq(hashes: Int32Array, refs: Uint32Array, n: number): Promise<PdqBase> {
    const reply = await this.run({ kind: 'pdq', hashes, refs, n }, unique([hashes.buffer, refs.buffer]));
    if (reply === undefined) return this.inline.buildPdq(hashes, refs, n);
    if (!reply.ok) throw new Error(`index build failed: ${reply.message}`);
    if (reply.kind !== 'pdq') throw new Error('index build worker answered with the wrong kind');
    return reply.base;
  }

  async close(): Promise<void> {
    this.closing = true;
    const w = this.starting ? await this.starting : undefined;
    this.starting = undefined;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new Error('index builder closed'));
    this.pending.clear();
    if (w) await w.terminate();
  }
}

/**
 * Starts base-worker in a worker thread. Run from TypeScript sources (tsx, no build step), the
 * worker has to register tsx itself: on Node 20 a worker does not inherit the loader hooks.
 */
function spawnWorker(): Worker {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './base-worker.ts' : './base-worker.js', import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  // The ESM build of tsx's API, found next to the CommonJS one that require.resolve answers with.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true });
}

function unique(buffers: ArrayBufferLike[]): ArrayBuffer[] {
  return [...new Set(buffers)] as ArrayBuffer[];
}
