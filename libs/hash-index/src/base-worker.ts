// Worker-thread entry of WorkerBuilder: builds index bases off the event loop and hands the typed
// arrays back without copying (transferred).
import { parentPort } from 'node:worker_threads';
import { buildExactBase, buildPdqBase } from './base-build';
import type { BuildJob, BuildReply } from './base-builder';

const port = parentPort;
if (port === null) throw new Error('base-worker runs as a worker thread');
port.on('message', (job: BuildJob) => {
  try {
    if (job.kind === 'exact') {
      const base = buildExactBase(job.keys, job.refs, job.width, job.n);
      const reply: BuildReply = { id: job.id, ok: true, kind: 'exact', base };
      port.postMessage(reply, [...new Set([base.k0.buffer, base.tail.buffer, base.starts.buffer])] as ArrayBuffer[]);
    } else {
      const base = buildPdqBase(job.hashes, job.refs, job.n);
      const reply: BuildReply = { id: job.id, ok: true, kind: 'pdq', base };
      const buffers = new Set<ArrayBuffer>([base.hashes.buffer as ArrayBuffer, base.refs.buffer as ArrayBuffer]);
      for (const a of [...base.offsets, ...base.records, ...base.ids]) buffers.add(a.buffer as ArrayBuffer);
      port.postMessage(reply, [...buffers]);
    }
  } catch (err) {
    const reply: BuildReply = { id: job.id, ok: false, message: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
// Tells the builder the module loaded: only then does it transfer (hand over) any arrays.
port.postMessage({ ready: true });
