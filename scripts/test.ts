/**
 * The repo's test command: starts one real stack (Kafka + MongoDB-wire server, and a trace viewer)
 * for the whole run unless the environment already points at one, then runs every `*.test.ts`
 * with node's test runner through tsx, so there is one summary for the whole repo.
 *
 *   npm test                      typecheck, lint, then this
 *   npm run test:only -- <files>  just these test files (a directory: every test file in it)
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, relative, resolve } from 'node:path';
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
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      KAFKA_BROKERS: stack.kafkaBrokers,
      MONGODB_URI: stack.mongoUri,
      ...(stack.zipkinUrl ? { ZIPKIN_URL: stack.zipkinUrl } : {}),
      HASHCHECK_STACK_LOG_DIR: stack.logDir,
    },
  },
);

const stopAll = async (code: number): Promise<never> => {
  await stack?.stop().catch((err: Error) => console.error(`stack stop failed: ${err.message}`));
  console.log(`test run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    child.kill(sig);
  });
}
child.on('exit', (code, signal) => void stopAll(code ?? (signal ? 1 : 0)));
