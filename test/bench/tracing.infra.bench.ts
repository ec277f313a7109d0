/**
 * Tracing overhead (issue 8): the pipeline benchmark run twice in the same session against the same
 * broker, once without the OpenTelemetry SDK and once with it (kafkajs, MongoDB, pino and fastify
 * instrumentation, batch span processor, exporting to the local Zipkin). Target: throughput with
 * tracing at most 15% lower. Nothing is asserted; the figures and the ratio are printed.
 *
 *   npm run bench -- tracing        (the harness starts Kafka, MongoDB and Zipkin)
 *   BENCH_REPORTS (default 2000) is passed through to each run.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Result { name: string; value: number; unit: string }

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pipelineBench = join(root, 'test', 'bench', 'pipeline.infra.bench.ts');
const zipkin = process.env.ZIPKIN_URL;

function run(traced: boolean): Promise<Result[]> {
  const args = ['--import', 'tsx', ...(traced ? ['--import', '@hashcheck/telemetry/register'] : []), pipelineBench];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_REPORTS: process.env.BENCH_REPORTS ?? '2000',
    BENCH_RAW_MESSAGES: process.env.BENCH_RAW_MESSAGES ?? '5000',
    OTEL_SERVICE_NAME: 'hashcheck-bench',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    ...(traced
      ? zipkin
        ? { OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${zipkin}/api/v2/spans` }
        : { OTEL_TRACES_EXPORTER: 'console' }
      : { OTEL_SDK_DISABLED: 'true' }),
  };
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').reverse().find((l) => l.startsWith('{"results"'));
      if (code !== 0 || !last) return fail(new Error(`pipeline bench (${traced ? 'traced' : 'plain'}) exited ${code}`));
      done((JSON.parse(last) as { results: Result[] }).results);
    });
  });
}

const throughput = (rs: Result[]): number => rs.find((r) => r.name.startsWith('pipeline throughput'))?.value ?? NaN;
const p99 = (rs: Result[]): number => rs.find((r) => r.name.startsWith('pipeline p99'))?.value ?? NaN;

const plain = await run(false);
const traced = await run(true);
const ratio = throughput(traced) / throughput(plain);
console.log(`pipeline throughput: ${throughput(plain)} reports/s without tracing, ${throughput(traced)} with (${((1 - ratio) * 100).toFixed(1)}% lower; target <= 15%)`);
console.log(`pipeline p99 at half load: ${p99(plain)} ms without, ${p99(traced)} ms with`);
console.log(`exporter: ${zipkin ? `zipkin at ${zipkin}` : 'console (no ZIPKIN_URL)'}`);
console.log(JSON.stringify({
  results: [
    { name: 'pipeline throughput with tracing', value: throughput(traced), unit: 'reports/s', baseline: throughput(plain), ratio: Number(ratio.toFixed(3)) },
    { name: 'pipeline p99 with tracing', value: p99(traced), unit: 'ms', baseline: p99(plain), ratio: Number((p99(traced) / p99(plain)).toFixed(3)) },
  ],
}));
