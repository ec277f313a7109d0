import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { hashFile, type HashFileOptions, type HashOutcome } from './file-hasher';

/** What a task may say about how to hash (no functions: it crosses a thread boundary). */
export type WorkerFileOptions = Pick<HashFileOptions, 'pdq' | 'followSymlinks' | 'maxImageBytes' | 'chunkBytes'>;

export interface WorkerTask {
  readonly id: number;
  readonly path: string;
  readonly options: WorkerFileOptions;
}
export interface WorkerReply {
  readonly id: number;
  readonly outcome: HashOutcome;
}

if (!parentPort) throw new Error('hash-worker must run in a worker thread');
const port = parentPort;
// Each worker is one core's worth of work; libvips' own thread pool would oversubscribe the cores,
// and its operation cache is useless when every image is different.
sharp.concurrency(1);
sharp.cache(false);

// Tasks arrive in small batches to amortise message passing; files are hashed one after another.
port.on('message', async (tasks: WorkerTask[]) => {
  const replies: WorkerReply[] = [];
  for (const t of tasks) {
    let outcome: HashOutcome;
    try {
      outcome = await hashFile(t.path, t.options);
    } catch (err) {
      // hashFile reports file problems as values; anything thrown is a bug, still kept per file.
      outcome = { ok: false, path: t.path, error: { code: 'SCAN_READ_FAILED', message: `${t.path}: ${String(err)}` } };
    }
    replies.push({ id: t.id, outcome });
  }
  port.postMessage(replies);
});
