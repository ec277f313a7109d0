/**
 * The repo's test command: starts one real stack (Kafka + MongoDB-wire server, and a trace viewer)
 * for the whole run unless the environment already points at one, then runs every `*.test.ts`
 * with node's test runner through tsx, so there is one summary for the whole repo.
 *
 *   npm test                      typecheck, lint, then this
 *   npm run test:only -- <files>  just these test files (a directory: every test file in it)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, resolve } from 'node:path';
import { startStack, type Stack } from '@hashcheck/stack';
import { findFiles } from './find-files';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
// A directory stands for every test file below it (node 20's runner would take it as one file).
const files = args.length > 0 ? args.flatMap((a) => (existsSync(a) && statSync(a).isDirectory() ? findFiles(root, '.test.ts', [relative(root, resolve(a))]) : [a])) : findFiles(root, '.test.ts');
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

let stack: Stack | undefined;
const started = Date.now();
try {
  stack = await startStack({ zipkin: process.env.HASHCHECK_TEST_ZIPKIN !== '0' });
} catch (err) {
  console.error(`could not start the test stack: ${(err as Error).message}`);
  process.exit(1);
}
console.log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s: kafka ${stack.kafkaBrokers}, mongodb ${stack.mongoUri}${stack.zipkinUrl ? `, zipkin ${stack.zipkinUrl}` : ''}; logs in ${stack.logDir}`);

const concurrency = process.env.HASHCHECK_TEST_CONCURRENCY ?? '3';
// A file that fails is run once more, alone after the others, on the same stack. These machines
// are shared and noisy: a file that passes the second time is reported as FLAKY by name (a defect
// to fix, listed at the end of the run) but does not fail it; a file that fails twice does.
// HASHCHECK_TEST_RETRY=0 turns the second run off.
const retry = process.env.HASHCHECK_TEST_RETRY !== '0';
const scratch = mkdtempSync(join(tmpdir(), 'hashcheck-test-'));
let child: ChildProcess | undefined;

function run(list: readonly string[], label: string): Promise<{ code: number; failed: string[] }> {
  const failedFile = join(scratch, `${label}.failed`);
  return new Promise((done) => {
    child = spawn(
      process.execPath,
      [
        '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000',
        '--test-reporter=tap', '--test-reporter-destination=stdout',
        `--test-reporter=${join(root, 'scripts/failed-files-reporter.mjs')}`, `--test-reporter-destination=${failedFile}`,
        ...list,
      ],
      {
        cwd: root,
        stdio: 'inherit',
        env: {
          ...process.env,
          KAFKA_BROKERS: stack!.kafkaBrokers,
          MONGODB_URI: stack!.mongoUri,
          ...(stack!.zipkinUrl ? { ZIPKIN_URL: stack!.zipkinUrl } : {}),
          HASHCHECK_STACK_LOG_DIR: stack!.logDir,
        },
      },
    );
    child.on('exit', (code, signal) => {
      const failed = existsSync(failedFile) ? readFileSync(failedFile, 'utf8').split('\n').filter(Boolean).map((f) => relative(root, f)) : [];
      done({ code: code ?? (signal ? 1 : 0), failed });
    });
  });
}

const stopAll = async (code: number): Promise<never> => {
  await stack?.stop().catch((err: Error) => console.error(`stack stop failed: ${err.message}`));
  rmSync(scratch, { recursive: true, force: true });
  console.log(`test run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    child?.kill(sig);
    void stopAll(1);
  });
}

const first = await run(files, 'first');
if (first.code === 0 || !retry || first.failed.length === 0 || first.failed.length > 5) {
  if (first.code !== 0 && first.failed.length > 5) console.log(`::: ${first.failed.length} files failed: not retried`);
  await stopAll(first.code);
}
console.log(`\n::: ${first.failed.length} file(s) failed; running them once more, alone:\n${first.failed.map((f) => `:::   ${f}`).join('\n')}`);
const second = await run(first.failed, 'second');
const flaky = first.failed.filter((f) => !second.failed.includes(f));
if (flaky.length > 0) console.log(`\n::: FLAKY (failed, then passed alone): fix these\n${flaky.map((f) => `:::   ${f}`).join('\n')}`);
if (second.code !== 0) console.log(`\n::: FAILED twice:\n${second.failed.map((f) => `:::   ${f}`).join('\n')}`);
await stopAll(second.code);
