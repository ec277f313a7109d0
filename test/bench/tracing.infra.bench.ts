/**
 * Tracing overhead (issue 8): the pipeline benchmark run several times in the same session against
 * the same broker: without the OpenTelemetry SDK, and with it (kafkajs, MongoDB, pino and fastify
 * instrumentation, batch span processor) exporting spans two ways:
 * - to a drain: an HTTP endpoint in a process of its own that reads the spans and throws them away.
 *   In production the trace store runs elsewhere; this is the cost tracing puts on the services.
 *   Twice: `otlp`, with the services' default exporter (OTLP, http/protobuf), and `drain`, with the
 *   Zipkin JSON exporter (the earlier sessions' figures), which repeats the process's resource
 *   attributes in every span.
 * - to the local Zipkin, which then stores and indexes every span on the same two cores as the
 *   pipeline (it used ~25 CPU-s per traced run of 4,000 reports): what a laptop with the whole
 *   stack sees.
 * Target: throughput with tracing at most 15% lower. Nothing is asserted; figures and ratios are
 * printed.
 *
 *   npm run bench -- tracing        (the harness starts Kafka, MongoDB and Zipkin)
 *   BENCH_REPORTS (default 2000) is passed through to each run; BENCH_TRACING_ROUNDS (default 2)
 *   rounds of every variant, in rotating order, compared by their medians;
 *   BENCH_TRACING_VARIANTS (default plain,otlp,drain,zipkin; zipkin only with the local Zipkin).
 */
import { spawn } from 'node:child_process';
import { cpuMsOf } from './proc';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Result { name: string; value: number; unit: string }

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pipelineBench = join(root, 'test', 'bench', 'pipeline.infra.bench.ts');
const zipkin = process.env.ZIPKIN_URL;

/** Spans the SDK dropped and exports that failed: a run that lost spans understates tracing's cost. */
interface Losses { dropped: number; failedExports: number }
interface Run { rs: Result[]; cpuSeconds: number; reports: number; losses: Losses }
type Variant = 'plain' | 'otlp' | 'drain' | 'zipkin';

/** The drain: answers every POST with 202 after reading it; its CPU is reported per run. */
const drainProcess = spawn(process.execPath, ['-e', `
  const server = require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(202); res.end(); }); });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`], { stdio: ['ignore', 'pipe', 'inherit'] });
const drainPort = await new Promise<number>((ok) => drainProcess.stdout.once('data', (d: Buffer) => ok(Number(d.toString().trim()))));
process.on('exit', () => drainProcess.kill());
const cpuSecondsOf = (pid: number | undefined): number => cpuMsOf(pid) / 1000;


function run(variant: Variant): Promise<Run> {
  const traced = variant !== 'plain';
  const endpoint = variant === 'drain' ? `http://127.0.0.1:${drainPort}/api/v2/spans` : `${zipkin}/api/v2/spans`;
  const exporter: NodeJS.ProcessEnv = variant === 'otlp'
    ? { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${drainPort}/v1/traces` }
    : { OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: endpoint };
  const args = ['--import', 'tsx', ...(traced ? ['--import', '@hashcheck/telemetry/register'] : []), pipelineBench];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_REPORTS: process.env.BENCH_REPORTS ?? '2000',
    // The raw kafkajs baseline of the pipeline bench is not what this compares, and traced it cost
    // a send span per message (tens of thousands in its steady phase) in the CPU counted per report.
    BENCH_RAW: 'off',
    OTEL_SERVICE_NAME: 'hashcheck-bench',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    ...(traced ? exporter : { OTEL_SDK_DISABLED: 'true' }),
  };
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The SDK's warnings (OTEL_LOG_LEVEL=warn, libs/telemetry) are counted, and everything is passed on.
    const losses: Losses = { dropped: 0, failedExports: 0 };
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      process.stderr.write(text);
      for (const m of text.matchAll(/Dropped (\d+) spans/g)) losses.dropped += Number(m[1]);
      losses.failedExports += text.match(/unexpected status code from zipkin|ECONNREFUSED|OTLPExporterError|Export failed/g)?.length ?? 0;
    });
    let out = '';
    let cpuSeconds = NaN;
    // The child's CPU time (utime + stime from /proc), sampled until it exits: on a machine shared
    // with other work, CPU per report tells the cost of tracing better than wall-clock throughput.
    const sample = (): void => {
      const now = cpuSecondsOf(child.pid);
      // NaN: gone already, or not Linux: keep the last sample.
      if (Number.isFinite(now)) cpuSeconds = now;
    };
    const sampler = setInterval(sample, 250);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => {
      clearInterval(sampler);
      const last = out.trim().split('\n').reverse().find((l) => l.startsWith('{"results"'));
      if (code !== 0 || !last) return fail(new Error(`pipeline bench (${variant}) exited ${code}`));
      // "pipeline (...) max N reports/s (received/n); at R/s: ... (received/offered)", plus the 200 of the warm-up.
      const line = out.split('\n').find((l) => l.startsWith('pipeline ('));
      const counts = [...(line ?? '').matchAll(/\((\d+)\/(\d+)\)/g)].map((m) => Number(m[1]));
      const reports = counts.length === 2 ? 200 + counts[0]! + counts[1]! : NaN;
      done({ rs: (JSON.parse(last) as { results: Result[] }).results, cpuSeconds, reports, losses });
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

// Rounds rotate the order of the variants so that a machine getting busier or quieter during the
// run does not count as tracing overhead in one direction.
const ROUNDS = Math.max(1, Number(process.env.BENCH_TRACING_ROUNDS ?? 2));
const ALL: Variant[] = ['plain', 'otlp', 'drain', 'zipkin'];
const asked = (process.env.BENCH_TRACING_VARIANTS ?? ALL.join(',')).split(',').map((v) => v.trim());
const unknown = asked.filter((v) => !ALL.includes(v as Variant));
if (unknown.length > 0) throw new Error(`BENCH_TRACING_VARIANTS: unknown ${unknown.join(', ')} (known: ${ALL.join(', ')})`);
// plain is what the others are compared with.
const variants = ALL.filter((v) => v === 'plain' || (asked.includes(v) && (v !== 'zipkin' || zipkin)));
const runs: Array<{ variant: Variant; rs: Result[]; cpuMsPerReport: number }> = [];
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < variants.length; k++) {
    const variant = variants[(k + round) % variants.length]!;
    const before = load();
    const drain0 = cpuSecondsOf(drainProcess.pid);
    const { rs, cpuSeconds, reports, losses } = await run(variant);
    const drainCpuS = cpuSecondsOf(drainProcess.pid) - drain0;
    const cpuMsPerReport = (cpuSeconds * 1000) / reports;
    console.log(`round ${round + 1} ${variant.padEnd(6)}: ${throughput(rs)} reports/s, p99 ${p99(rs)} ms; ${cpuSeconds.toFixed(1)} CPU-s for ${reports} reports = ${cpuMsPerReport.toFixed(2)} CPU-ms/report, start-up included${variant === 'drain' || variant === 'otlp' ? `; the drain used ${drainCpuS.toFixed(1)} CPU-s` : ''}${variant === 'plain' ? '' : `; spans dropped ${losses.dropped}, failed exports ${losses.failedExports}`} (load average ${before} before, ${load()} after)`);
    runs.push({ variant, rs, cpuMsPerReport });
  }
}
const of = (v: Variant) => runs.filter((r) => r.variant === v);
const figures = (v: Variant) => ({
  throughput: median(of(v).map((r) => throughput(r.rs))),
  p99: median(of(v).map((r) => p99(r.rs))),
  cpu: median(of(v).map((r) => r.cpuMsPerReport)),
});
const plain = figures('plain');
const results: Array<Result & { baseline: number; ratio: number }> = [];
for (const v of variants.filter((x) => x !== 'plain')) {
  const f = figures(v);
  const where = { otlp: 'OTLP (the default exporter) to a drain (trace store elsewhere)', drain: 'Zipkin JSON to a drain (trace store elsewhere)', zipkin: 'spans to Zipkin on the same cores', plain: '' }[v];
  console.log(`${where}: throughput (median of ${ROUNDS}) ${plain.throughput} reports/s without tracing, ${f.throughput} with (${((1 - f.throughput / plain.throughput) * 100).toFixed(1)}% lower; target <= 15%); p99 at half load ${plain.p99} ms without, ${f.p99} ms with; CPU per report (the whole benchmark process) ${plain.cpu.toFixed(2)} ms without, ${f.cpu.toFixed(2)} ms with (${((f.cpu / plain.cpu - 1) * 100).toFixed(1)}% more)`);
  const suffix = { otlp: ', OTLP to a drain', drain: ', Zipkin JSON to a drain', zipkin: ', Zipkin on the same cores', plain: '' }[v];
  results.push(
    { name: `pipeline throughput with tracing${suffix}`, value: f.throughput, unit: 'reports/s', baseline: plain.throughput, ratio: Number((f.throughput / plain.throughput).toFixed(3)) },
    { name: `pipeline p99 with tracing${suffix}`, value: f.p99, unit: 'ms', baseline: plain.p99, ratio: Number((f.p99 / plain.p99).toFixed(3)) },
    { name: `pipeline CPU per report with tracing${suffix}`, value: Number(f.cpu.toFixed(2)), unit: 'ms', baseline: Number(plain.cpu.toFixed(2)), ratio: Number((f.cpu / plain.cpu).toFixed(3)) },
  );
}
console.log(`batch span processor; load average now ${load()}`);
drainProcess.kill();
console.log(JSON.stringify({ results }));
