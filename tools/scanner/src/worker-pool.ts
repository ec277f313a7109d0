import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FileErrorCode, type HashOutcome } from './file-hasher';
import type { WorkerFileOptions, WorkerReply, WorkerTask } from './hash-worker';

const ENTRY = new URL('./hash-worker-entry.mjs', import.meta.url);

interface Pending {
  readonly task: WorkerTask;
  readonly resolve: (o: HashOutcome) => void;
}

interface Slot {
  worker: Worker;
  /** Tasks sent to this worker and not answered yet. */
  readonly inFlight: Map<number, Pending>;
  batches: number;
}

export interface HashPoolOptions extends WorkerFileOptions {
  /** Worker threads; default: every core. */
  readonly threads?: number;
  /** Files per message to a worker. */
  readonly batchSize?: number;
}

/**
 * Worker threads that hash files (digests + PDQ) in parallel, one file at a time per thread.
 * `hash()` never rejects: a worker that dies fails only the files it held, and is replaced.
 */
export class HashPool {
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly batchSize: number;
  private readonly fileOptions: WorkerFileOptions;
  private nextId = 1;
  private closed = false;

  constructor(options: HashPoolOptions = {}) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    this.batchSize = Math.max(1, options.batchSize ?? 8);
    const { threads: _t, batchSize: _b, ...fileOptions } = options;
    this.fileOptions = fileOptions;
    for (let i = 0; i < this.threads; i++) this.slots.push(this.spawn());
  }

  /** Number of files submitted and not yet answered. */
  get pending(): number {
    return this.queue.length + this.slots.reduce((n, s) => n + s.inFlight.size, 0);
  }

  /** Hash one file; `options` override the pool's defaults for this file. */
  hash(path: string, options?: WorkerFileOptions): Promise<HashOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, path, error: { code: FileErrorCode.READ_FAILED, message: `${path}: scanner is shutting down` } });
    return new Promise((resolve) => {
      this.queue.push({ task: { id: this.nextId++, path, options: options ? { ...this.fileOptions, ...options } : this.fileOptions }, resolve });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(ENTRY), inFlight: new Map(), batches: 0 };
    slot.worker.on('message', (replies: WorkerReply[]) => {
      slot.batches--;
      for (const r of replies) {
        const p = slot.inFlight.get(r.id);
        if (!p) continue;
        slot.inFlight.delete(r.id);
        p.resolve(r.outcome);
      }
      this.dispatch();
    });
    const fail = (reason: string) => {
      for (const p of slot.inFlight.values()) {
        p.resolve({ ok: false, path: p.task.path, error: { code: FileErrorCode.READ_FAILED, message: `${p.task.path}: hashing thread failed: ${reason}` } });
      }
      slot.inFlight.clear();
      slot.batches = 0;
      if (!this.closed) {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots[i] = this.spawn();
        this.dispatch();
      }
    };
    slot.worker.on('error', (err) => fail(err.message));
    slot.worker.on('exit', (code) => {
      if (!this.closed && slot.inFlight.size > 0) fail(`exited with code ${code}`);
    });
    // Idle workers must not keep the process alive once the scan is over.
    slot.worker.unref();
    return slot;
  }

  private dispatch(): void {
    // Two batches per worker: one being hashed, one waiting, so a thread never idles on messaging.
    for (const slot of this.slots) {
      while (slot.batches < 2 && this.queue.length > 0) {
        // Smaller batches when the queue runs low, so one thread does not hold all the big files.
        const n = Math.max(1, Math.min(this.batchSize, Math.floor(this.queue.length / this.threads)));
        const batch = this.queue.splice(0, n);
        for (const p of batch) slot.inFlight.set(p.task.id, p);
        slot.batches++;
        slot.worker.ref();
        slot.worker.postMessage(batch.map((p) => p.task));
      }
      if (slot.inFlight.size === 0) slot.worker.unref();
    }
  }
}
