import cliProgress from 'cli-progress';

/** Counters the scan updates and the progress display reads. */
export interface ProgressStats {
  /** Files found so far (final once `walkDone`). */
  filesTotal: number;
  bytesTotal: number;
  walkDone: boolean;
  /** Files finished (hashed, reused from state, failed or skipped). */
  filesDone: number;
  bytesDone: number;
  matches: number;
  errors: number;
}

export function newProgressStats(): ProgressStats {
  return { filesTotal: 0, bytesTotal: 0, walkDone: false, filesDone: 0, bytesDone: 0, matches: 0, errors: 0 };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export interface Rates {
  filesPerSec: number;
  mbPerSec: number;
  /** Seconds, or NaN while the total is still unknown. */
  etaSec: number;
}

/**
 * Rates since the start and a conservative ETA: the larger of the file-based and the byte-based
 * estimates, since small files cost per file and big ones per byte.
 */
export function computeRates(s: ProgressStats, elapsedSec: number): Rates {
  const t = Math.max(elapsedSec, 1e-3);
  const filesPerSec = s.filesDone / t;
  const bytesPerSec = s.bytesDone / t;
  let etaSec = Number.NaN;
  if (s.walkDone && s.filesDone > 0) {
    const byFiles = filesPerSec > 0 ? (s.filesTotal - s.filesDone) / filesPerSec : 0;
    const byBytes = bytesPerSec > 0 ? (s.bytesTotal - s.bytesDone) / bytesPerSec : 0;
    etaSec = Math.max(0, byFiles, byBytes);
  }
  return { filesPerSec, mbPerSec: bytesPerSec / 1e6, etaSec };
}

export function progressLine(s: ProgressStats, elapsedSec: number): string {
  const r = computeRates(s, elapsedSec);
  const total = s.walkDone ? String(s.filesTotal) : `${s.filesTotal}+`;
  const pct = s.walkDone && s.filesTotal > 0 ? ` (${((100 * s.filesDone) / s.filesTotal).toFixed(1)}%)` : '';
  return (
    `progress: ${s.filesDone}/${total} files${pct}, ${(s.bytesDone / 1e6).toFixed(1)} MB, ` +
    `${r.filesPerSec.toFixed(1)} files/s, ${r.mbPerSec.toFixed(1)} MB/s, ETA ${formatDuration(r.etaSec)}, ` +
    `${s.matches} matches, ${s.errors} errors`
  );
}

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/**
 * A progress bar on a terminal, or a plain line every `intervalMs` otherwise (logs, cron mail).
 * Writes to stderr so stdout stays for the report.
 */
export class ProgressDisplay {
  private readonly started = Date.now();
  private bar: cliProgress.SingleBar | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly mode: Exclude<ProgressMode, 'auto'>;

  constructor(
    private readonly stats: ProgressStats,
    mode: ProgressMode = 'auto',
    private readonly intervalMs = 10_000,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  }

  start(): void {
    if (this.mode === 'bar') {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: '{bar} {percentage}% | {value}/{totalText} files | {fps} files/s | {mbps} MB/s | ETA {etaText} | {matches} matches, {errors} errors',
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, this.stats.filesTotal), 0, this.payload());
      this.timer = setInterval(() => this.render(), 200);
    } else if (this.mode === 'lines') {
      this.timer = setInterval(() => this.stream.write(progressLine(this.stats, this.elapsed()) + '\n'), this.intervalMs);
    }
    this.timer?.unref();
  }

  /** Print a message without tearing the bar. */
  log(line: string): void {
    if (this.bar) {
      // cli-progress redraws on the next tick; clear the line first so the message stands alone.
      this.stream.write('\r\x1b[K' + line + '\n');
    } else {
      this.stream.write(line + '\n');
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.bar) {
      this.render();
      this.bar.stop();
      this.bar = null;
    } else if (this.mode === 'lines') {
      this.stream.write(progressLine(this.stats, this.elapsed()) + '\n');
    }
  }

  private elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  private payload(): Record<string, string | number> {
    const r = computeRates(this.stats, this.elapsed());
    return {
      totalText: this.stats.walkDone ? String(this.stats.filesTotal) : `${this.stats.filesTotal}+`,
      fps: r.filesPerSec.toFixed(1),
      mbps: r.mbPerSec.toFixed(1),
      etaText: formatDuration(r.etaSec),
      matches: this.stats.matches,
      errors: this.stats.errors,
    };
  }

  private render(): void {
    if (!this.bar) return;
    this.bar.setTotal(Math.max(1, this.stats.filesTotal));
    this.bar.update(this.stats.filesDone, this.payload());
  }
}
