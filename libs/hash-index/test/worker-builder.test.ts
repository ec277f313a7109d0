import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

/**
 * Runs in a process of its own, so the test can see whether it ends by itself: a WorkerBuilder is
 * unreferenced while idle and must never hold the process open. The first job cannot be posted
 * (an array on a SharedArrayBuffer cannot be transferred: postMessage throws); the second is fine.
 * The builder is not closed on purpose.
 */
const CHILD = `
import { WorkerBuilder } from '@hashcheck/hash-index';
const builder = new WorkerBuilder({ onFallback: (err) => console.log(JSON.stringify({ fallback: err.message })) });
let rejected = null;
try {
  await builder.buildExact(new Uint32Array(new SharedArrayBuffer(8)), new Uint32Array([0, 1]), 1, 2);
} catch (err) {
  rejected = err.message;
}
const base = await builder.buildExact(new Uint32Array([30, 10, 20]), new Uint32Array([0, 1, 2]), 1, 3);
console.log(JSON.stringify({ rejected, k0: [...base.k0] }));
`;

/** Exit code and output of the child; `exited` false if it still ran `graceMs` after its last line. */
function runChild(graceMs: number): Promise<{ exited: boolean; code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      // The clock starts once the builds are done: how long tsx and the worker take to start does not count.
      if (stdout.includes('"k0"') && !timer) timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ exited: signal === null, code, lines: stdout.split('\n').filter(Boolean), stderr });
    });
  });
}

test('a build job whose postMessage throws rejects, the next job builds, and the idle worker does not keep the process alive', async () => {
  const run = await runChild(10_000);
  assert.equal(run.lines.length, 1, `one line of output expected (no fallback to inline builds); stdout ${JSON.stringify(run.lines)}, stderr ${run.stderr}`);
  const out = JSON.parse(run.lines[0] as string) as { rejected: string | null; k0: number[] };
  assert.match(out.rejected ?? 'resolved', /transferList/, 'the job that could not be posted rejects with the postMessage error');
  assert.deepEqual(out.k0, [10, 20, 30], 'the next job is built by the worker');
  assert.equal(run.exited, true, 'the process did not end by itself after the builds: the idle worker stayed referenced');
  assert.equal(run.code, 0, run.stderr);
});
