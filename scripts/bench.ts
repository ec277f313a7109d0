/**
 * `npm run bench`: runs every `*.bench.ts` in the workspaces one after another (so they do not
 * compete for the two cores), prints their figures as one table and writes
 * bench/results/latest.json as a list of { name, value, unit, baseline, ratio }.
 *
 * Each benchmark prints what it likes and, as its last stdout line, {"results":[...]}.
 * Benchmarks named `*.infra.bench.ts` need Kafka and MongoDB: the harness starts the local stack
 * once for them (or uses KAFKA_BROKERS / MONGODB_URI). `npm run bench -- <filter>` runs the
 * benchmarks whose path contains the filter.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '@hashcheck/stack';
import { findFiles } from './find-files';

interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number | null;
  ratio?: number | null;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2];
const files = findFiles(root, '.bench.ts').filter((f) => !filter || f.includes(filter));
if (files.length === 0) {
  console.error('no benchmarks found');
  process.exit(1);
}

let stack: Stack | undefined;
if (files.some((f) => f.endsWith('.infra.bench.ts'))) {
  stack = await startStack({ zipkin: files.some((f) => f.includes('tracing')) });
}

function run(file: string): Promise<{ results: BenchResult[]; code: number; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', file], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ...(stack ? { KAFKA_BROKERS: stack.kafkaBrokers, MONGODB_URI: stack.mongoUri } : {}),
        ...(stack?.zipkinUrl ? { ZIPKIN_URL: stack.zipkinUrl } : {}),
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').reverse().find((l) => l.startsWith('{"results"'));
      let results: BenchResult[] = [];
      if (last) {
        try {
          results = (JSON.parse(last) as { results: BenchResult[] }).results;
        } catch {
          results = [];
        }
      }
      done({ results, code: code ?? 1, ms: Date.now() - started });
    });
  });
}

const all: Array<BenchResult & { file: string }> = [];
const failed: string[] = [];
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = await run(file);
  if (r.code !== 0 || r.results.length === 0) failed.push(`${file} (exit ${r.code}, ${r.results.length} results)`);
  for (const res of r.results) all.push({ ...res, baseline: res.baseline ?? null, ratio: res.ratio ?? null, file });
  console.log(`=== ${file}: ${(r.ms / 1000).toFixed(1)} s`);
}
await stack?.stop();

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(4)).toString());
const rows = all.map((r) => [r.name, fmt(r.value), r.unit, fmt(r.baseline), r.ratio === null || r.ratio === undefined ? '' : `${fmt(r.ratio)}x`]);
const header = ['benchmark', 'value', 'unit', 'baseline', 'ratio'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 1 || i === 3 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const row of rows) console.log(line(row));

mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'latest.json'),
  `${JSON.stringify(all.map(({ name, value, unit, baseline, ratio }) => ({ name, value, unit, baseline: baseline ?? null, ratio: ratio ?? null })), null, 2)}\n`,
);
console.log(`\nwrote bench/results/latest.json (${all.length} figures from ${files.length} benchmarks)`);
if (failed.length > 0) {
  console.error(`benchmarks that failed or printed no results:\n  ${failed.join('\n  ')}`);
  process.exit(1);
}
