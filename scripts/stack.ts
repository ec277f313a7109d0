/**
 * Runs the local infrastructure on its own: `npx tsx scripts/stack.ts [--zipkin] [--mongo=ferretdb|mongod|auto]`
 * starts Kafka, the MongoDB-wire server (and Zipkin), prints where they are, and stops them on
 * Ctrl-C / SIGTERM. `--prepare` only downloads/builds the cached artifacts (CI warm-up) and exits.
 */
import { isHashCheckError } from '@hashcheck/errors';
import { prepareStack, startStack } from '@hashcheck/stack';
import type { MongoModeValue, Stack } from '@hashcheck/stack';

const args = process.argv.slice(2);
const zipkin = args.includes('--zipkin');
const mongo = args.find((a) => a.startsWith('--mongo='))?.slice('--mongo='.length) as MongoModeValue | undefined;
const unknown = args.filter((a) => !['--zipkin', '--prepare'].includes(a) && !a.startsWith('--mongo='));
if (unknown.length > 0 || args.includes('--help')) {
  console.error('usage: tsx scripts/stack.ts [--zipkin] [--mongo=auto|mongod|ferretdb] [--prepare]');
  process.exit(unknown.length > 0 ? 2 : 0);
}

function fail(err: unknown): never {
  console.error(isHashCheckError(err) ? `\n${err.message}\n(${err.code})` : err);
  process.exit(1);
}

if (args.includes('--prepare')) {
  // Prepare everything a later run may need: the trace viewer too, unless it was left out on purpose.
  const res = await prepareStack({ zipkin: true, ...(mongo ? { mongo } : {}) }).catch(fail);
  for (const [name, a] of Object.entries(res)) {
    if (typeof a === 'object') console.log(`${name.padEnd(9)} ${a.cached ? 'cached' : 'prepared'} in ${(a.ms / 1000).toFixed(1)} s  ${a.dir}`);
  }
  console.log(`prepare took ${(res.ms / 1000).toFixed(1)} s`);
  process.exit(0);
}

// A holder, not a `let`: the signal handlers may run before startStack resolves.
const running: { stack?: Stack; stopping: boolean; firstSignalAt: number } = { stopping: false, firstSignalAt: 0 };
async function shutdown(signal: string): Promise<void> {
  // One Ctrl-C often arrives twice: from the terminal and relayed by the tsx/npm wrapper.
  if (running.stopping && Date.now() - running.firstSignalAt < 1500) return;
  if (running.stopping || !running.stack) {
    // A real second signal, or one during start-up: leave now; the launcher's exit hook kills the children.
    if (running.stopping || signal !== 'SIGINT') process.exit(130);
    running.stopping = true;
    running.firstSignalAt = Date.now();
    console.log(`\n${signal}: will stop once the stack is up (again to quit at once) ...`);
    return;
  }
  running.stopping = true;
  running.firstSignalAt = Date.now();
  console.log(`\n${signal}: stopping the stack ...`);
  const t0 = Date.now();
  await running.stack.stop();
  console.log(`stopped in ${Date.now() - t0} ms`);
  process.exit(0);
}
// Registered before starting, so Ctrl-C during start-up also stops what already runs.
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

const t0 = Date.now();
const stack = await startStack({
  zipkin,
  ...(mongo ? { mongo } : {}),
  onCrash: (crash) => {
    if (running.stopping) return;
    running.stopping = true;
    console.error(`\n${crash.component} ${crash.description} unexpectedly; see ${crash.logFile}. Stopping the rest.`);
    void running.stack?.stop().finally(() => process.exit(1));
  },
}).catch(fail);
running.stack = stack;
const lines = [
  `local stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  `  KAFKA_BROKERS=${stack.kafkaBrokers}${stack.managed.kafka ? '' : '   (from the environment)'}`,
  `  MONGODB_URI=${stack.mongoUri}   (${stack.mongoKind})`,
  ...(stack.zipkinUrl ? [`  ZIPKIN_URL=${stack.zipkinUrl}   (UI: ${stack.zipkinUrl}/zipkin/, spans: POST ${stack.zipkinUrl}/api/v2/spans)`] : []),
  `  logs: ${stack.logDir}`,
  'Ctrl-C to stop.',
];
console.log(lines.join('\n'));
// A signal during start-up found nothing to stop yet.
if (running.stopping) {
  await stack.stop();
  process.exit(0);
}
