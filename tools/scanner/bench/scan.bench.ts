// End-to-end scan of a tree of small files against a local HTTP API in another process that speaks
// the bulk check contract (the scanner's contract test double, see local-api.ts): walk,
// hash on all cores, batch, check, report. Then the same tree again with a state file, which skips
// hashing of unchanged files.
//   npx tsx tools/scanner/bench/scan.bench.ts [files, default 20000]   (100000 for the figure)
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BulkChecker, MemoryReport, runScan } from '@hashcheck/scanner';

const files = Number(process.argv[2] ?? process.env.SCAN_BENCH_FILES ?? 20_000);
const perDir = 200;
const root = mkdtempSync(join(tmpdir(), 'hc-scan-bench-'));
const tree = join(root, 'tree');
const listed: string[] = [];
let bytes = 0;
const t0 = performance.now();
for (let i = 0; i < files; i++) {
  const dir = join(tree, `d${Math.floor(i / perDir / 50)}`, `d${Math.floor(i / perDir)}`);
  if (i % perDir === 0) mkdirSync(dir, { recursive: true });
  // 512 B .. 8 KiB: web pages, scripts, thumbnails.
  const data = randomBytes(512 + ((i * 2654435761) >>> 0) % 7680);
  bytes += data.length;
  writeFileSync(join(dir, `f${i}.bin`), data);
  if (i % 5000 === 17) listed.push(data.toString('hex'));
}
const created = (performance.now() - t0) / 1000;

const entries = listed.map((hex) => ({ type: 'sha256', hash: createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex'), list: 'l', listName: 'bench', category: 'A1' }));
const server = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./local-api.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
server.stdin.write(JSON.stringify(entries) + '\n');
const apiUrl = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('\n')) resolve(out.trim());
  });
  server.on('exit', (code) => reject(new Error(`local API exited with ${code}`)));
});

async function scan(statePath?: string) {
  const t = performance.now();
  const c0 = process.cpuUsage(); // main thread and hashing threads; not the API process
  const s = await runScan({
    roots: [tree],
    checker: new BulkChecker(apiUrl, 'bench'),
    report: new MemoryReport(),
    log: () => {},
    ...(statePath ? { statePath } : {}),
  });
  const sec = (performance.now() - t) / 1000;
  const c = process.cpuUsage(c0);
  const cpuSec = (c.user + c.system) / 1e6;
  if (s.filesMatched !== listed.length || s.errors !== 0) throw new Error(`unexpected result: ${s.filesMatched} matches, ${s.errors} errors`);
  return { sec, cpuSec, s };
}

try {
  const state = join(root, 'state.jsonl');
  const first = await scan(state);
  const again = await scan(state);
  const fps = files / first.sec;
  console.log(`${files} files (${(bytes / 1e6).toFixed(1)} MB) created in ${created.toFixed(1)} s, ${availableParallelism()} cores`);
  console.log(`full scan: ${first.sec.toFixed(2)} s = ${fps.toFixed(0)} files/s, ${(bytes / 1e6 / first.sec).toFixed(1)} MB/s, ${first.s.requests} API requests, ${first.s.filesMatched} matches; ${first.cpuSec.toFixed(2)} CPU-s = ${(files / first.cpuSec).toFixed(0)} files per CPU-second`);
  console.log(`rescan with state (no hashing, all checked again): ${again.sec.toFixed(2)} s = ${(files / again.sec).toFixed(0)} files/s, re-hashed ${again.s.filesHashed}`);
  console.log(
    JSON.stringify({
      results: [
        { name: `scan ${files} small files end to end (local API)`, value: Math.round(fps), unit: 'files/s' },
        { name: `scan ${files} small files, throughput`, value: Math.round((bytes / 1e6 / first.sec) * 10) / 10, unit: 'MB/s' },
        { name: `scan ${files} small files, per CPU-second of the scanner`, value: Math.round(files / first.cpuSec), unit: 'files/cpu-s' },
        { name: `rescan ${files} files with state file`, value: Math.round(files / again.sec), unit: 'files/s' },
      ],
    }),
  );
} finally {
  server.stdin.end();
  server.kill();
  rmSync(root, { recursive: true, force: true });
}
