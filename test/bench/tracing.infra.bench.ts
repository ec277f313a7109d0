/**
 * Tracing overhead (issue 8): the pipeline benchmark run twice in the same session against the same
 * broker, once without the OpenTelemetry SDK and once with it (kafkajs, MongoDB, pino and fastify
 * instrumentation, batch span processor, exporting to the local Zipkin). Target: throughput with
 * tracing at most 15% lower. Nothing is asserted; the figures and the ratio are printed.
 *
 *   npm run bench -- tracing        (the harness starts Kafka, MongoDB and Zipkin)
 *   BENCH_REPORTS (default 2000) is passed through to each run; BENCH_TRACING_ROUNDS (default 2)
 *   pairs of runs, in alternating order, compared by their medians.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Result { name: string; value: number; unit: string }

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pipelineBench = join(root, 'test', 'bench', 'pipeline.infra.bench.ts');
const zipkin = process.env.ZIPKIN_URL;

interface Run { rs: Result[]; cpuSeconds: number; reports: number }

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

function run(traced: boolean): Promise<Run> {
  const args = ['--import', 'tsx', ...(traced ? ['--import', '@hashcheck/telemetry/register'] : []), pipelineBench];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_REPORTS: process.env.BENCH_REPORTS ?? '2000',
    // The raw kafkajs baseline of the pipeline bench is not what this compares: keep it short.
    BENCH_RAW_MESSAGES: process.env.BENCH_RAW_MESSAGES ?? '2000',
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
    let cpuSeconds = NaN;
    // The child's CPU time (utime + stime from /proc), sampled until it exits: on a machine shared
    // with other work, CPU per report tells the cost of tracing better than wall-clock throughput.
    const sample = (): void => {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      } catch {
        // gone already, or not Linux: keep the last sample
      }
    };
    const sampler = setInterval(sample, 250);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => {
      clearInterval(sampler);
      const last = out.trim().split('\n').reverse().find((l) => l.startsWith('{"results"'));
      if (code !== 0 || !last) return fail(new Error(`pipeline bench (${traced ? 'traced' : 'plain'}) exited ${code}`));
      // "pipeline (...) max N reports/s (received/n); at R/s: ... (received/offered)", plus the 200 of the warm-up.
      const line = out.split('\n').find((l) => l.startsWith('pipeline ('));
      const counts = [...(line ?? '').matchAll(/\((\d+)\/(\d+)\)/g)].map((m) => Number(m[1]));
      const reports = counts.length === 2 ? 200 + counts[0]! + counts[1]! : NaN;
      done({ rs: (JSON.parse(last) as { results: Result[] }).results, cpuSeconds, reports });
    });
  });
}

const throughput = (rs: Result[]): number => rs.find((r) => r.name.startsWith('pipeline throughput'))?.value ?? NaN;
const p99 = (rs: Result[]): number => rs.find((r) => r.name.startsWith('pipeline p99'))?.value ?? NaN;
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
const median = (xs: number[]): number => {
  // A run whose latency phase received nothing has no p99 (NaN): the median of the others.
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// Rounds alternate the order (plain first, then traced first) so that a machine getting busier
// or quieter during the run does not count as tracing overhead in one direction.
const ROUNDS = Math.max(1, Number(process.env.BENCH_TRACING_ROUNDS ?? 2));
const runs: Array<{ traced: boolean; rs: Result[]; cpuMsPerReport: number }> = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const traced of round % 2 === 0 ? [false, true] : [true, false]) {
    const before = load();
    const { rs, cpuSeconds, reports } = await run(traced);
    const cpuMsPerReport = (cpuSeconds * 1000) / reports;
    console.log(`round ${round + 1} ${traced ? 'traced' : 'plain '}: ${throughput(rs)} reports/s, p99 ${p99(rs)} ms; ${cpuSeconds.toFixed(1)} CPU-s for ${reports} reports = ${cpuMsPerReport.toFixed(2)} CPU-ms/report, start-up included (load average ${before} before, ${load()} after)`);
    runs.push({ traced, rs, cpuMsPerReport });
  }
}
const plainCpu = median(runs.filter((r) => !r.traced).map((r) => r.cpuMsPerReport));
const tracedCpu = median(runs.filter((r) => r.traced).map((r) => r.cpuMsPerReport));
const plain = median(runs.filter((r) => !r.traced).map((r) => throughput(r.rs)));
const traced = median(runs.filter((r) => r.traced).map((r) => throughput(r.rs)));
const plainP99 = median(runs.filter((r) => !r.traced).map((r) => p99(r.rs)));
const tracedP99 = median(runs.filter((r) => r.traced).map((r) => p99(r.rs)));
const ratio = traced / plain;
console.log(`pipeline throughput (median of ${ROUNDS}): ${plain} reports/s without tracing, ${traced} with (${((1 - ratio) * 100).toFixed(1)}% lower; target <= 15%)`);
console.log(`pipeline p99 at half load (median): ${plainP99} ms without, ${tracedP99} ms with`);
console.log(`CPU per report (median, the whole benchmark process): ${plainCpu.toFixed(2)} ms without, ${tracedCpu.toFixed(2)} ms with (${((tracedCpu / plainCpu - 1) * 100).toFixed(1)}% more)`);
console.log(`exporter: ${zipkin ? `zipkin at ${zipkin}` : 'console (no ZIPKIN_URL)'}, batch span processor; load average now ${load()}`);
console.log(JSON.stringify({
  results: [
    { name: 'pipeline throughput with tracing', value: traced, unit: 'reports/s', baseline: plain, ratio: Number(ratio.toFixed(3)) },
    { name: 'pipeline p99 with tracing', value: tracedP99, unit: 'ms', baseline: plainP99, ratio: Number((tracedP99 / plainP99).toFixed(3)) },
    { name: 'pipeline CPU per report with tracing', value: Number(tracedCpu.toFixed(2)), unit: 'ms', baseline: Number(plainCpu.toFixed(2)), ratio: Number((tracedCpu / plainCpu).toFixed(3)) },
  ],
}));
