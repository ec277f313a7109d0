import { availableParallelism } from 'node:os';
import { isHashCheckError } from '@hashcheck/errors';
import { ApiErrorCode, isFatalApiError, type CheckItem, type CheckType, type Checker } from './api-client';
import { FileErrorCode, type FileError, type FileHashes, type HashOutcome } from './file-hasher';
import { newProgressStats, type ProgressStats } from './progress';
import { Quarantine } from './quarantine';
import { matchRecord, type MatchRecord, type ReportSink } from './report';
import { ScanState, type FileMatch } from './state';
import { walk } from './walk';
import { HashPool } from './worker-pool';

/** PDQ hashes below this quality say little about the picture and only cause false matches. */
export const DEFAULT_PDQ_MIN_QUALITY = 50;

export interface ScanOptions {
  readonly roots: readonly string[];
  readonly checker: Checker;
  readonly report: ReportSink;
  /** Hashing threads; default every core. */
  readonly threads?: number;
  /** A pool to hash with (left open); by default the scan starts and stops its own. */
  readonly pool?: HashPool;
  readonly followSymlinks?: boolean;
  /** Paths left out of the walk (the quarantine folder, state and report files are added). */
  readonly exclude?: readonly string[];
  /** Resumable state file. */
  readonly statePath?: string;
  readonly quarantineDir?: string;
  /** Report what would be moved, move nothing. */
  readonly dryRun?: boolean;
  /** Compute PDQ for images (default true). */
  readonly pdq?: boolean;
  readonly pdqMinQuality?: number;
  /** Hash types to send (default: all the checker supports). */
  readonly types?: readonly CheckType[];
  /** Check requests in flight at once. */
  readonly apiConcurrency?: number;
  /** Items per request (capped by the checker). */
  readonly batchItems?: number;
  /** Send a partly filled batch after this long, so slow hashing still shows results. */
  readonly batchWaitMs?: number;
  readonly maxImageBytes?: number;
  /** Files the walk may find ahead of hashing (memory bound). Default 200,000. */
  readonly maxQueuedFiles?: number;
  /** After this many batches in a row fail because the API is unreachable, stop trying. */
  readonly giveUpAfterFailedBatches?: number;
  /** Notices and per-file errors, one line each (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Per-file error lines shown for each error code before they are only counted. Default 100. */
  readonly maxLoggedErrorsPerCode?: number;
  /** Every per-file error, for an errors file. */
  readonly onError?: (e: { path: string; code: string; message: string }) => void;
  /** Counters for a progress display; created when absent. */
  readonly stats?: ProgressStats;
  readonly signal?: AbortSignal;
}

export interface ScanSummary {
  filesFound: number;
  bytesFound: number;
  filesHashed: number;
  bytesHashed: number;
  /** Unchanged files whose hashes came from the state file. */
  filesReused: number;
  /** Files already checked in the interrupted run being resumed. */
  filesAlreadyChecked: number;
  images: number;
  /** Files that looked like images but gave no PDQ (corrupt, too large): their digests were still checked. */
  imagesWithoutPdq: number;
  skippedEmpty: number;
  skippedSymlinks: number;
  skippedSpecial: number;
  skippedExcluded: number;
  filesChecked: number;
  itemsSent: number;
  requests: number;
  filesMatched: number;
  quarantined: number;
  wouldQuarantine: number;
  errors: number;
  errorsByCode: Record<string, number>;
  apiUnavailable: boolean;
  fatal: string | null;
  interrupted: boolean;
  durationMs: number;
  exitCode: 0 | 1 | 2;
}

interface PendingFile {
  readonly hashes: FileHashes;
  remaining: number;
  readonly matches: FileMatch[];
  readonly itemErrors: string[];
}

interface Batch {
  readonly items: CheckItem[];
  readonly owners: PendingFile[];
}

/** Exit status: 1 when anything matched (even if other files failed), else 2 on errors, else 0. */
export function exitCodeFor(s: Pick<ScanSummary, 'filesMatched' | 'errors' | 'fatal' | 'interrupted'>): 0 | 1 | 2 {
  if (s.filesMatched > 0) return 1;
  if (s.errors > 0 || s.fatal !== null || s.interrupted) return 2;
  return 0;
}

/** The items to ask about for one file. */
export function checkItemsFor(h: FileHashes, types: ReadonlySet<CheckType>, pdqMinQuality: number): CheckItem[] {
  const items: CheckItem[] = [];
  if (types.has('md5')) items.push({ type: 'md5', hash: h.md5 });
  if (types.has('sha1')) items.push({ type: 'sha1', hash: h.sha1 });
  if (types.has('sha256')) items.push({ type: 'sha256', hash: h.sha256 });
  if (types.has('pdq') && h.pdq !== undefined && (h.quality ?? 0) >= pdqMinQuality) items.push({ type: 'pdq', hash: h.pdq });
  return items;
}

/**
 * Walk, hash on all cores, check in batches, report, quarantine. File content never leaves the
 * machine: only hashes are sent.
 */
export async function runScan(options: ScanOptions): Promise<ScanSummary> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const stats = options.stats ?? newProgressStats();
  const checker = options.checker;
  const types = new Set((options.types ?? checker.types).filter((t) => checker.types.includes(t)));
  const pdqMinQuality = options.pdqMinQuality ?? DEFAULT_PDQ_MIN_QUALITY;
  const wantPdq = (options.pdq ?? true) && types.has('pdq');
  const maxItems = Math.max(4, Math.min(options.batchItems ?? checker.maxBatch, checker.maxBatch));
  const apiConcurrency = Math.max(1, options.apiConcurrency ?? 4);
  const batchWaitMs = options.batchWaitMs ?? 2000;
  const giveUpAfter = options.giveUpAfterFailedBatches ?? 2;
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const summary: ScanSummary = {
    filesFound: 0, bytesFound: 0, filesHashed: 0, bytesHashed: 0, filesReused: 0, filesAlreadyChecked: 0,
    images: 0, imagesWithoutPdq: 0, skippedEmpty: 0, skippedSymlinks: 0, skippedSpecial: 0, skippedExcluded: 0,
    filesChecked: 0, itemsSent: 0, requests: 0, filesMatched: 0, quarantined: 0, wouldQuarantine: 0,
    errors: 0, errorsByCode: {}, apiUnavailable: false, fatal: null, interrupted: false, durationMs: 0, exitCode: 0,
  };

  const quarantine = options.quarantineDir ? new Quarantine(options.quarantineDir) : null;
  const exclude = [...(options.exclude ?? [])];
  if (quarantine) exclude.push(quarantine.dir);
  if (options.statePath) exclude.push(options.statePath, `${options.statePath}.tmp-${process.pid}`);
  const state = options.statePath ? ScanState.open(options.statePath) : null;
  if (state?.resumed) log(`resuming the interrupted scan in ${options.statePath} (${state.size} files already hashed)`);

  // Wakes the walk and dispatch loops when the walk, hashing or sending made progress.
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of waiters) w();
    waiters.clear();
  };
  const changed = () =>
    new Promise<void>((resolve) => {
      waiters.add(resolve);
      // A safety net: no loop may sleep forever on a missed notification.
      setTimeout(resolve, 250).unref();
    });

  // An unreachable API fails every file the same way: show the first ones, count the rest.
  const maxLoggedPerCode = options.maxLoggedErrorsPerCode ?? 100;
  const fileError = (path: string, e: FileError | { code: string; message: string }) => {
    summary.errors++;
    stats.errors++;
    const n = (summary.errorsByCode[e.code] = (summary.errorsByCode[e.code] ?? 0) + 1);
    if (n <= maxLoggedPerCode) log(`error: ${e.code}: ${e.message}`);
    if (n === maxLoggedPerCode + 1) log(`error: further ${e.code} errors are counted in the summary but not shown`);
    options.onError?.({ path, code: e.code, message: e.message });
  };

  const sideTasks = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    sideTasks.add(p);
    void p.finally(() => sideTasks.delete(p));
  };

  const handleMatch = (h: FileHashes, matches: readonly FileMatch[]) => {
    summary.filesMatched++;
    stats.matches++;
    const record: MatchRecord = matchRecord(h, matches);
    if (!quarantine) {
      options.report.write(record);
      return;
    }
    if (options.dryRun) {
      summary.wouldQuarantine++;
      log(`dry run: would move ${h.path} to ${quarantine.dir}`);
      options.report.write(record);
      return;
    }
    track(
      quarantine.move(h, matches).then(
        (r) => {
          summary.quarantined++;
          options.report.write({ ...record, quarantinedTo: r.quarantinedPath });
        },
        (err: Error) => {
          options.report.write(record);
          fileError(h.path, { code: FileErrorCode.QUARANTINE_FAILED, message: `${h.path}: quarantine failed: ${err.message}` });
        },
      ),
    );
  };

  // ---- batching and sending ----
  let open: Batch = { items: [], owners: [] };
  let openedAt = 0;
  const sealed: Batch[] = [];
  let sending = 0;
  let failedInARow = 0;
  let apiDownNoticeGiven = false;

  const finishFile = (f: PendingFile) => {
    if (f.itemErrors.length > 0) {
      fileError(f.hashes.path, { code: FileErrorCode.CHECK_FAILED, message: `${f.hashes.path}: ${f.itemErrors.join('; ')}` });
    } else {
      summary.filesChecked++;
      state?.recordChecked(f.hashes.path, f.matches);
    }
    if (f.matches.length > 0) handleMatch(f.hashes, f.matches);
  };

  const failBatch = (b: Batch, message: string) => {
    for (const f of new Set(b.owners)) {
      fileError(f.hashes.path, { code: FileErrorCode.CHECK_FAILED, message: `${f.hashes.path}: not checked: ${message}` });
    }
  };

  const sendBatch = async (b: Batch) => {
    if (summary.apiUnavailable || summary.fatal !== null) {
      failBatch(b, summary.fatal ?? 'the API is unreachable');
      return;
    }
    try {
      const results = await checker.check(b.items, abort.signal);
      failedInARow = 0;
      summary.requests++;
      summary.itemsSent += b.items.length;
      const touched = new Set<PendingFile>();
      results.forEach((r, i) => {
        const f = b.owners[i]!;
        const type = b.items[i]!.type;
        touched.add(f);
        f.remaining--;
        if ('error' in r) f.itemErrors.push(`${type} check failed: ${r.error.code} ${r.error.message}`.trim());
        else if (r.match) for (const m of r.matches) f.matches.push({ type, ...m });
      });
      for (const f of touched) if (f.remaining === 0) finishFile(f);
    } catch (err) {
      if (abort.signal.aborted && summary.fatal === null) return; // interrupted: stays unchecked, resumable
      const message = err instanceof Error ? err.message : String(err);
      if (isFatalApiError(err)) {
        if (summary.fatal === null) {
          summary.fatal = message;
          log(`fatal: ${message}; stopping the scan`);
          abort.abort(err);
        }
        failBatch(b, message);
        return;
      }
      if (isHashCheckError(err) && err.code === ApiErrorCode.UNAVAILABLE) {
        failedInARow++;
        if (failedInARow >= giveUpAfter) {
          summary.apiUnavailable = true;
          if (!apiDownNoticeGiven) {
            apiDownNoticeGiven = true;
            log(`error: ${message}; giving up on the API for this run, hashing goes on (use --state to check later without re-hashing)`);
          }
        }
      }
      failBatch(b, message);
    }
  };

  const pump = () => {
    while (sending < apiConcurrency && sealed.length > 0) {
      const b = sealed.shift()!;
      sending++;
      track(
        sendBatch(b).finally(() => {
          sending--;
          notify();
          pump();
        }),
      );
    }
  };

  const seal = () => {
    if (open.items.length === 0) return;
    sealed.push(open);
    open = { items: [], owners: [] };
    pump();
  };

  const enqueueCheck = (h: FileHashes) => {
    const items = checkItemsFor(h, types, pdqMinQuality);
    if (items.length === 0) return;
    if (open.items.length + items.length > maxItems) seal();
    if (open.items.length === 0) openedAt = Date.now();
    const f: PendingFile = { hashes: h, remaining: items.length, matches: [], itemErrors: [] };
    for (const it of items) {
      open.items.push(it);
      open.owners.push(f);
    }
    if (open.items.length >= maxItems) seal();
  };

  const sealTimer = setInterval(() => {
    if (open.items.length > 0 && Date.now() - openedAt >= batchWaitMs) seal();
  }, Math.max(50, Math.min(batchWaitMs, 1000)));
  sealTimer.unref();

  // ---- hashing ----
  let pool: HashPool | null = options.pool ?? null;
  const fileOptions = {
    pdq: wantPdq,
    followSymlinks: options.followSymlinks ?? false,
    ...(options.maxImageBytes !== undefined ? { maxImageBytes: options.maxImageBytes } : {}),
  };
  const hashing = new Set<Promise<void>>();
  const threads = options.threads;
  const maxHashing = (threads ?? options.pool?.threads ?? availableParallelism()) * 32;

  const onHashed = (size: number, outcome: HashOutcome) => {
    stats.filesDone++;
    stats.bytesDone += size;
    if (!outcome.ok) {
      fileError(outcome.path, outcome.error);
      return;
    }
    const h = outcome.value;
    summary.filesHashed++;
    summary.bytesHashed += h.size;
    if (h.imageFormat !== undefined) summary.images++;
    if (h.pdqError !== undefined) summary.imagesWithoutPdq++;
    state?.recordHashed(h);
    enqueueCheck(h);
  };

  // The walk runs ahead of hashing (up to maxQueued files) so that the totals, and with them the
  // ETA, are known early; hashing and sending are bounded separately.
  type Found = { path: string; size: number; mtimeMs: number };
  const queue: Found[] = [];
  let queueHead = 0;
  const maxQueued = options.maxQueuedFiles ?? 200_000;
  let walkFinished = false;
  const walker = (async () => {
    try {
      for await (const entry of walk(options.roots, { followSymlinks: options.followSymlinks ?? false, exclude })) {
        if (abort.signal.aborted) break;
        if (entry.kind === 'skipped') {
          if (entry.reason === 'symlink') summary.skippedSymlinks++;
          else if (entry.reason === 'excluded') summary.skippedExcluded++;
          else summary.skippedSpecial++;
          continue;
        }
        if (entry.kind === 'error') {
          fileError(entry.path, entry.error);
          continue;
        }
        summary.filesFound++;
        summary.bytesFound += entry.size;
        stats.filesTotal++;
        stats.bytesTotal += entry.size;
        if (entry.size === 0) {
          // Every empty file has the same digests; they identify nothing.
          summary.skippedEmpty++;
          stats.filesDone++;
          continue;
        }
        queue.push({ path: entry.path, size: entry.size, mtimeMs: entry.mtimeMs });
        if (queue.length - queueHead === 1) notify();
        while (!abort.signal.aborted && queue.length - queueHead >= maxQueued) await changed();
      }
    } finally {
      walkFinished = true;
      stats.walkDone = true;
      notify();
    }
  })();

  const dispatch = (entry: Found) => {
    const prior = state?.lookup(entry.path, entry.size, entry.mtimeMs);
    if (prior) {
      summary.filesReused++;
      stats.filesDone++;
      stats.bytesDone += entry.size;
      if (prior.checked) {
        summary.filesAlreadyChecked++;
        summary.filesChecked++;
        if (prior.checked.length > 0) handleMatch(prior.hashes, prior.checked);
      } else {
        enqueueCheck(prior.hashes);
      }
      return;
    }
    pool ??= new HashPool(threads !== undefined ? { threads } : {});
    const { size, path } = entry;
    const p: Promise<void> = pool.hash(path, fileOptions).then((o) => {
      hashing.delete(p);
      try {
        onHashed(size, o);
      } catch (err) {
        fileError(path, { code: FileErrorCode.READ_FAILED, message: `${path}: ${(err as Error).message}` });
      }
      notify();
    });
    hashing.add(p);
  };

  try {
    while (!abort.signal.aborted) {
      if (queueHead < queue.length) {
        // Back-pressure: a bounded number of files in the hashing threads, and no more than a few
        // sealed batches waiting for the API.
        if (hashing.size >= maxHashing || sealed.length >= apiConcurrency) {
          await changed();
          continue;
        }
        dispatch(queue[queueHead++]!);
        if (queueHead >= 4096 && queueHead * 2 >= queue.length) {
          queue.splice(0, queueHead);
          queueHead = 0;
          notify(); // the walker may be waiting for room
        }
      } else if (walkFinished) {
        break;
      } else {
        await changed();
      }
    }
    await walker;
    await Promise.all(hashing);
    seal();
    while (sideTasks.size > 0 || sealed.length > 0) await Promise.all([...sideTasks]);
  } finally {
    clearInterval(sealTimer);
    options.signal?.removeEventListener('abort', onOuterAbort);
    if (pool !== options.pool) await pool?.close();
  }

  if (abort.signal.aborted && summary.fatal === null) {
    summary.interrupted = true;
    log(`interrupted${options.statePath ? `; run again with --state ${options.statePath} to resume` : ''}`);
  }
  // A finished run is marked done; an interrupted or failed one stays resumable.
  if (state) {
    if (!summary.interrupted && summary.fatal === null && !summary.apiUnavailable && summary.errors === 0) state.finish();
    else state.close();
  }
  await options.report.close();
  summary.durationMs = Date.now() - started;
  summary.exitCode = exitCodeFor(summary);
  return summary;
}

/** The end-of-scan summary for the operator. */
export function formatSummary(s: ScanSummary): string {
  const sec = s.durationMs / 1000;
  const lines = [
    `scan summary (${sec.toFixed(1)} s)`,
    `  files found:       ${s.filesFound} (${(s.bytesFound / 1e6).toFixed(1)} MB)`,
    `  hashed:            ${s.filesHashed} (${(s.bytesHashed / 1e6).toFixed(1)} MB, ${(s.filesHashed / Math.max(sec, 1e-3)).toFixed(1)} files/s), images ${s.images}, images without PDQ ${s.imagesWithoutPdq}`,
    `  reused from state: ${s.filesReused} (already checked ${s.filesAlreadyChecked})`,
    `  skipped:           ${s.skippedEmpty} empty, ${s.skippedSymlinks} symlinks, ${s.skippedSpecial} special, ${s.skippedExcluded} excluded`,
    `  checked:           ${s.filesChecked} files in ${s.requests} requests (${s.itemsSent} hashes)`,
    `  MATCHED:           ${s.filesMatched} files` + (s.quarantined || s.wouldQuarantine ? ` (quarantined ${s.quarantined}${s.wouldQuarantine ? `, dry run would move ${s.wouldQuarantine}` : ''})` : ''),
    `  errors:            ${s.errors}` + (s.errors ? ` (${Object.entries(s.errorsByCode).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''),
  ];
  if (s.apiUnavailable) lines.push('  the API was unreachable: some files were hashed but not checked');
  if (s.fatal) lines.push(`  stopped: ${s.fatal}`);
  if (s.interrupted) lines.push('  interrupted before the end');
  lines.push(`  exit code:         ${s.exitCode} (${s.exitCode === 1 ? 'matches found' : s.exitCode === 2 ? 'errors, scan incomplete' : 'no matches'})`);
  return lines.join('\n');
}
