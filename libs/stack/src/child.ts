import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Last `maxLines` lines of a file ('' when it does not exist). Reads at most the last 64 KiB. */
export function tailFile(file: string, maxLines = 40): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-maxLines - 1).join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

// --- children that must not outlive this process -------------------------------------------

const live = new Set<ManagedChild>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const c of live) c.killSync();
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // best effort on the way out
    }
  }
}

/** Set once we got SIGINT/SIGTERM/SIGHUP: a terminal's Ctrl-C reaches the children too, so their exits are no crash. */
let signalled = false;

function onSignal(signal: NodeJS.Signals): void {
  signalled = true;
  // Only act when nobody else handles the signal: adding a listener switches off Node's default
  // "exit on SIGINT/SIGTERM", and an application with its own handler will call stop() itself
  // (and the 'exit' hook below still runs when it exits).
  if (process.listenerCount(signal) > 1) return;
  killAllNow();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
}

/** A temp dir removed at process exit if nobody removed it earlier. */
export function trackTempDir(dir: string): () => void {
  installHooks();
  tempDirs.add(dir);
  return () => {
    tempDirs.delete(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  };
}

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr go here (appended). */
  outFile: string;
  /** The file worth showing when it fails (defaults to outFile). */
  logFile?: string;
}

/**
 * A child process with its output in a file, killed when this process exits for any reason:
 * 'exit'/signal hooks cover a normal or signalled exit, and a tiny `sh` watchdog, which reads
 * a pipe from us, covers SIGKILL of this process (the pipe closes, the watchdog kills the child).
 */
export class ManagedChild {
  readonly spec: SpawnSpec;
  private proc: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private exitPromise: Promise<number | null> | undefined;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  /** Called when the child exits after markReady() without stop()/kill() having asked for it. */
  onUnexpectedExit: ((description: string) => void) | undefined;
  private ready = false;

  constructor(spec: SpawnSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.exitCode === undefined;
  }

  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    installHooks();
    const out = openSync(this.spec.outFile, 'a');
    this.exitCode = undefined;
    this.exitSignal = undefined;
    this.ready = false;
    let proc: ChildProcess;
    try {
      proc = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env ?? process.env,
        stdio: ['ignore', out, out],
        detached: false,
      });
    } finally {
      closeSync(out);
    }
    this.proc = proc;
    this.exitPromise = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this);
        this.stopWatchdog();
        resolve(code);
        if (this.ready && !signalled) {
          this.ready = false;
          this.onUnexpectedExit?.(this.describeExit());
        }
      });
      proc.once('error', (err) => {
        this.exitCode = -1;
        live.delete(this);
        this.stopWatchdog();
        try {
          appendFileSync(this.spec.outFile, `\n[hashcheck-stack] failed to spawn ${this.spec.command}: ${err.message}\n`);
        } catch {
          // ignore
        }
        resolve(-1);
      });
    });
    live.add(this);
    if (proc.pid !== undefined) this.startWatchdog(proc.pid);
  }

  private startWatchdog(pid: number): void {
    // `read` returns at EOF, i.e. when every copy of the pipe's write end is closed: only when we die.
    const script = 'read _ignored; kill -TERM "$1" 2>/dev/null; sleep 10; kill -KILL "$1" 2>/dev/null; exit 0';
    try {
      const w = spawn('sh', ['-c', script, 'hashcheck-watchdog', String(pid)], {
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
      });
      w.on('error', () => undefined);
      w.stdin?.on('error', () => undefined);
      // Neither the watchdog nor its pipe may keep our event loop alive.
      w.unref();
      (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.watchdog = w;
    } catch {
      // without sh the exit hooks still cover the common cases
    }
  }

  private stopWatchdog(): void {
    const w = this.watchdog;
    this.watchdog = undefined;
    if (w?.pid !== undefined) {
      try {
        process.kill(w.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Resolves with the exit code once the process has exited. */
  waitExit(): Promise<number | null> {
    return this.exitPromise ?? Promise.resolve(null);
  }

  /** From now on an exit nobody asked for is reported through onUnexpectedExit. */
  markReady(): void {
    if (this.running) this.ready = true;
  }

  killSync(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.ready = false;
    const pid = this.proc?.pid;
    if (pid !== undefined && this.running) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    if (signal === 'SIGKILL') this.stopWatchdog();
  }

  /** SIGTERM, wait up to `graceMs`, then SIGKILL. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.killSync('SIGTERM');
    // The grace timer is cancelled once the child exits, so it never holds the event loop open.
    const grace = new AbortController();
    const exited = await Promise.race([
      this.waitExit().then(() => true),
      sleep(graceMs, false, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort();
    if (!exited) {
      this.killSync('SIGKILL');
      await this.waitExit();
    }
  }

  /** SIGKILL and wait for the exit (for fault tests). */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.killSync('SIGKILL');
    await this.waitExit();
  }

  logTail(lines = 40): string {
    const files = [...new Set([this.spec.logFile ?? this.spec.outFile, this.spec.outFile])];
    return files
      .map((f) => tailFile(f, lines))
      .filter((t) => t.trim() !== '')
      .join('\n');
  }

  describeExit(): string {
    return this.exitSignal ? `was killed by ${this.exitSignal}` : `exited with code ${this.exitCode}`;
  }
}

/** Polls `probe` until it resolves true, the child dies, or the deadline passes. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; child?: ManagedChild },
): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.child && !opts.child.running) return 'exited';
    try {
      if (await probe()) return 'ready';
    } catch {
      // not yet
    }
    if (opts.child && !opts.child.running) return 'exited';
    if (Date.now() >= deadline) return 'timeout';
    await sleep(opts.intervalMs ?? 250);
  }
}
