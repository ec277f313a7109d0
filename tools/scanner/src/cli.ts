import { createWriteStream, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BULK_MAX_ITEMS, BulkChecker, DEFAULT_RETRY, EokmChecker, type CheckType, type Checker } from './api-client';
import { runHashCommand } from './hash-command';
import { ProgressDisplay, newProgressStats, type ProgressMode } from './progress';
import { openReport, type ReportFormat } from './report';
import { DEFAULT_PDQ_MIN_QUALITY, formatSummary, runScan } from './scan';

const CHECK_TYPES: readonly CheckType[] = ['md5', 'sha1', 'sha256', 'pdq'];

function positiveInt(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

function intInRange(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function typeList(allowed: readonly string[]) {
  return (value: string): string[] => {
    const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    const bad = list.filter((t) => !allowed.includes(t));
    if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`choose from ${allowed.join(', ')}`);
    return list;
  };
}

function apiUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new InvalidArgumentError('must be an http(s) URL');
  return u.toString();
}

interface ScanCliOptions {
  api: string;
  key?: string;
  keyFile?: string;
  compat?: 'eokm';
  eokmTypes: ('md5' | 'sha1')[];
  report: string;
  format: ReportFormat;
  errors?: string;
  state?: string;
  quarantine?: string;
  dryRun?: boolean;
  followSymlinks?: boolean;
  exclude?: string[];
  threads: number;
  concurrency: number;
  batchSize: number;
  types: CheckType[];
  pdq: boolean;
  pdqMinQuality: number;
  retries: number;
  timeout: number;
  progress: ProgressMode;
  progressInterval: number;
}

function readKey(opts: ScanCliOptions): string {
  if (opts.keyFile) return readFileSync(opts.keyFile, 'utf8').trim();
  const key = opts.key ?? process.env.HASHCHECK_API_KEY;
  if (!key) throw new CommanderError(2, 'hashcheck.missingKey', 'error: no API key: give --key, --key-file or HASHCHECK_API_KEY');
  return key;
}

async function scanAction(dirs: string[], opts: ScanCliOptions): Promise<number> {
  const key = readKey(opts);
  const u = new URL(opts.api);
  if (u.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) {
    process.stderr.write('warning: the API URL is plain http: the key and the hashes travel unencrypted\n');
  }
  const stats = newProgressStats();
  const progress = new ProgressDisplay(stats, opts.progress, opts.progressInterval * 1000);
  const http = {
    retry: { ...DEFAULT_RETRY, retries: opts.retries },
    timeoutMs: opts.timeout * 1000,
    onRetry: (r: { attempt: number; delayMs: number; reason: string }) =>
      progress.log(`notice: API ${r.reason}, retry ${r.attempt}/${opts.retries} in ${(r.delayMs / 1000).toFixed(1)} s`),
  };
  let checker: Checker;
  if (opts.compat === 'eokm') {
    if (!key.includes(':')) throw new CommanderError(2, 'hashcheck.badKey', 'error: --compat eokm needs the key as USER:PASSWORD (HTTP Basic auth)');
    checker = new EokmChecker(opts.api, key, http, opts.concurrency, opts.eokmTypes);
  } else {
    checker = new BulkChecker(opts.api, key, http, opts.batchSize);
  }
  const errorsOut = opts.errors ? createWriteStream(opts.errors, { flags: 'w', mode: 0o600 }) : null;
  const report = openReport(opts.report, opts.format);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(130);
    progress.log(`received ${sig}: finishing the files in progress and saving state (again to quit at once)`);
    controller.abort(new Error(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const exclude = [...(opts.exclude ?? [])];
  if (opts.report !== '-') exclude.push(opts.report);
  if (opts.errors) exclude.push(opts.errors);
  progress.start();
  try {
    const summary = await runScan({
      roots: dirs,
      checker,
      report,
      threads: opts.threads,
      followSymlinks: opts.followSymlinks ?? false,
      exclude,
      ...(opts.state ? { statePath: opts.state } : {}),
      ...(opts.quarantine ? { quarantineDir: opts.quarantine } : {}),
      dryRun: opts.dryRun ?? false,
      pdq: opts.pdq,
      pdqMinQuality: opts.pdqMinQuality,
      types: opts.compat === 'eokm' ? opts.eokmTypes : opts.types,
      // EOKM batches fan out into one request per hash themselves: two batches keep the lanes busy.
      apiConcurrency: opts.compat === 'eokm' ? 2 : opts.concurrency,
      log: (line) => progress.log(line),
      onError: (e) => errorsOut?.write(JSON.stringify(e) + '\n'),
      stats,
      signal: controller.signal,
    });
    progress.stop();
    process.stderr.write(formatSummary(summary) + '\n');
    return summary.exitCode;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await new Promise<void>((r) => (errorsOut ? errorsOut.end(() => r()) : r()));
  }
}

export function buildProgram(): Command {
  const program = new Command()
    .name('hashcheck-scan')
    .description('Hash files on this machine and check the hashes against HashCheck. File content never leaves the machine.')
    .version('0.1.0')
    .showHelpAfterError()
    // Exit status 1 means "matches found", so usage errors must not use it.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(2, err.code, err.message);
    });

  program
    .command('hash')
    .description('print md5, sha1, sha256 and, for images (recognised by content), pdq and quality of each file')
    .argument('<files...>', 'files to hash')
    .option('--json', 'JSON lines instead of CSV')
    .option('--no-pdq', 'skip PDQ for images')
    .addOption(new Option('--threads <n>', 'hashing threads').argParser(positiveInt('--threads', 1024)).default(availableParallelism()))
    .action(async (files: string[], opts: { json?: boolean; pdq: boolean; threads: number }) => {
      process.exitCode = await runHashCommand(files, { json: opts.json ?? false, pdq: opts.pdq, threads: opts.threads });
    });

  program
    .command('scan')
    .description('walk directories, hash every file on all cores, check the hashes in bulk, report matches')
    .argument('<dirs...>', 'directories (or files) to scan')
    .requiredOption('--api <url>', 'HashCheck API base URL, e.g. https://hashcheck.example.nl', apiUrl)
    .option('--key <key>', 'API key (or set HASHCHECK_API_KEY; with --compat eokm: USER:PASSWORD)')
    .option('--key-file <file>', 'read the API key from this file (keeps it out of the process list)')
    .addOption(new Option('--compat <api>', 'speak the single-hash EOKM API instead of the bulk API').choices(['eokm']))
    .addOption(new Option('--eokm-types <list>', 'hash types to ask the EOKM API about').argParser(typeList(['md5', 'sha1'])).default(['md5', 'sha1'], 'md5,sha1'))
    .option('--report <file>', 'where to write matches (- for stdout)', '-')
    .addOption(new Option('--format <format>', 'report format').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--errors <file>', 'also write every per-file error as JSON lines to this file')
    .option('--state <file>', 'state file: resume an interrupted scan, reuse hashes of unchanged files')
    .option('--quarantine <dir>', 'move matched files into this folder, with a manifest')
    .option('--dry-run', 'move nothing; say what --quarantine would move')
    .option('--follow-symlinks', 'follow symbolic links (each directory is visited once)')
    .option('--exclude <paths...>', 'leave these paths out of the scan')
    .addOption(new Option('--threads <n>', 'hashing threads').argParser(positiveInt('--threads', 1024)).default(availableParallelism()))
    .addOption(new Option('--concurrency <n>', 'API requests in flight').argParser(positiveInt('--concurrency', 64)).default(4))
    .addOption(new Option('--batch-size <n>', 'hashes per bulk request').argParser(positiveInt('--batch-size', BULK_MAX_ITEMS)).default(BULK_MAX_ITEMS))
    .addOption(new Option('--types <list>', 'hash types to check').argParser(typeList(CHECK_TYPES)).default([...CHECK_TYPES], CHECK_TYPES.join(',')))
    .option('--no-pdq', 'do not compute PDQ for images')
    .addOption(new Option('--pdq-min-quality <n>', 'send PDQ hashes only from images of at least this quality').argParser(intInRange('--pdq-min-quality', 0, 100)).default(DEFAULT_PDQ_MIN_QUALITY))
    .addOption(new Option('--retries <n>', 'retries per request on 429, 5xx and network errors').argParser(intInRange('--retries', 0, 100)).default(DEFAULT_RETRY.retries))
    .addOption(new Option('--timeout <seconds>', 'timeout per API request').argParser(positiveInt('--timeout', 3600)).default(60))
    .addOption(new Option('--progress <mode>', 'progress display').choices(['auto', 'bar', 'lines', 'none']).default('auto'))
    .addOption(new Option('--progress-interval <seconds>', 'seconds between plain progress lines').argParser(positiveInt('--progress-interval', 86400)).default(10))
    .action(async (dirs: string[], opts: ScanCliOptions) => {
      process.exitCode = await scanAction(dirs, opts);
    });

  return program;
}

/** Run the CLI; resolves with the exit code (also set on process.exitCode). */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed usage errors; ours carry their own message.
      if (err.code.startsWith('hashcheck.')) process.stderr.write(err.message + '\n');
      process.exitCode = err.exitCode;
      return err.exitCode;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return 2;
  }
}
