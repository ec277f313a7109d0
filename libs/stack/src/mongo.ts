import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { ManagedChild, freePort, waitUntil } from './child';
import { startFailed } from './prereqs';
import type { Log } from './artifacts';

export const MongoKind = { MONGOD: 'mongod', FERRETDB: 'ferretdb' } as const;
export type MongoKindValue = (typeof MongoKind)[keyof typeof MongoKind];

export interface MongoOptions {
  kind: MongoKindValue;
  /** mongod on PATH, or the built ferretdb-wrapper. */
  executable: string;
  runDir: string;
  dataDir: string;
  timeoutMs: number;
  log: Log;
}

/** True once the server answers `ping`. */
export async function probeMongo(uri: string, timeoutMs = 2000): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs, directConnection: true });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    return res.ok === 1;
  } finally {
    await client.close().catch(() => undefined);
  }
}

export class LocalMongo {
  readonly uri: string;
  readonly kind: MongoKindValue;
  readonly logFile: string;
  private readonly child: ManagedChild;
  private readonly opts: MongoOptions;

  private constructor(opts: MongoOptions, uri: string, child: ManagedChild, logFile: string) {
    this.opts = opts;
    this.kind = opts.kind;
    this.uri = uri;
    this.child = child;
    this.logFile = logFile;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.running;
  }

  /** Reports a crash after start-up (not one caused by stop()/kill()). */
  onUnexpectedExit(fn: (description: string) => void): void {
    this.child.onUnexpectedExit = fn;
  }

  static async start(opts: MongoOptions): Promise<LocalMongo> {
    const port = await freePort();
    const dbDir = join(opts.dataDir, opts.kind);
    mkdirSync(dbDir, { recursive: true });
    const logFile = join(opts.runDir, `${opts.kind}.log`);
    const args =
      opts.kind === MongoKind.MONGOD
        ? [
            '--dbpath', dbDir, '--port', String(port), '--bind_ip', '127.0.0.1',
            '--logpath', logFile, '--logappend', '--nounixsocket',
            // Share the machine: the default cache is half the RAM.
            '--wiredTigerCacheSizeGB', '0.25',
          ]
        : ['-listen-addr', `127.0.0.1:${port}`, '-sqlite-dir', dbDir, '-log-file', logFile];
    const child = new ManagedChild({
      name: opts.kind,
      command: opts.executable,
      args,
      outFile: join(opts.runDir, `${opts.kind}.out`),
      logFile,
    });
    const mongo = new LocalMongo(opts, `mongodb://127.0.0.1:${port}`, child, logFile);
    await mongo.launch();
    return mongo;
  }

  private async launch(): Promise<void> {
    const t0 = Date.now();
    this.child.start();
    const res = await waitUntil(() => probeMongo(this.uri, 1000), { timeoutMs: this.opts.timeoutMs, intervalMs: 200, child: this.child });
    if (res !== 'ready') {
      const reason = res === 'exited' ? this.child.describeExit() : `was not ready after ${this.opts.timeoutMs} ms`;
      await this.child.kill();
      throw startFailed(this.kind, reason, this.logFile, this.child.logTail());
    }
    this.child.markReady();
    this.opts.log(`${this.kind} ${this.uri} ready in ${Date.now() - t0} ms (pid ${this.child.pid})`);
  }

  async stop(): Promise<void> {
    await this.child.stop(15_000);
  }

  /** SIGKILL the database (fault tests). Data and port are kept for restart(). */
  async kill(): Promise<void> {
    await this.child.kill();
  }

  /** Starts the database again on the same port and data; stops it first if it is running. */
  async restart(): Promise<void> {
    if (this.child.running) await this.child.stop(15_000);
    await this.launch();
  }
}
