import { join } from 'node:path';
import { ManagedChild, freePort, waitUntil } from './child';
import { startFailed } from './prereqs';
import type { Log } from './artifacts';

export interface ZipkinOptions {
  java: string;
  /** `<cache>/zipkin-<version>` (holds zipkin-server-exec.jar). */
  artifactDir: string;
  runDir: string;
  timeoutMs: number;
  log: Log;
}

export async function probeZipkin(url: string, timeoutMs = 2000): Promise<boolean> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) return false;
  const body = (await res.json()) as { status?: string };
  return body.status === 'UP';
}

/**
 * Zipkin server with in-memory storage. It collects Zipkin v2 spans (JSON or proto) at
 * `POST /api/v2/spans`; the stock server has no OTLP receiver, so services export with
 * OTEL_TRACES_EXPORTER=zipkin (see zipkinOtelEnv).
 */
export class LocalZipkin {
  readonly url: string;
  readonly logFile: string;
  private readonly child: ManagedChild;

  private constructor(url: string, child: ManagedChild, logFile: string) {
    this.url = url;
    this.child = child;
    this.logFile = logFile;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.running;
  }

  /** Reports a crash after start-up (not one caused by stop()). */
  onUnexpectedExit(fn: (description: string) => void): void {
    this.child.onUnexpectedExit = fn;
  }

  static async start(opts: ZipkinOptions): Promise<LocalZipkin> {
    const port = await freePort();
    const logFile = join(opts.runDir, 'zipkin.log');
    const child = new ManagedChild({
      name: 'zipkin',
      command: opts.java,
      args: [
        // A traced pipeline benchmark run sends ~110,000 spans. With 384 MB of heap and room for
        // 200,000 spans, the second run's exports failed with 500s (then seen, once the SDK said so).
        '-Xms64m', '-Xmx768m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
        '-jar', join(opts.artifactDir, 'zipkin-server-exec.jar'),
        // Spring binds a list from one source as a whole, so the port entry is given in full.
        `--armeria.ports[0].ip=127.0.0.1`,
        `--armeria.ports[0].port=${port}`,
        '--armeria.ports[0].protocols[0]=http',
      ],
      env: {
        ...process.env,
        STORAGE_TYPE: 'mem',
        MEM_MAX_SPANS: '100000',
        // Never pick up a Kafka/RabbitMQ/ActiveMQ collector from the caller's environment.
        KAFKA_BOOTSTRAP_SERVERS: '',
        RABBIT_ADDRESSES: '',
        RABBIT_URI: '',
        ACTIVEMQ_URL: '',
        COLLECTOR_GRPC_ENABLED: 'false',
        SELF_TRACING_ENABLED: 'false',
      },
      outFile: logFile,
    });
    const url = `http://127.0.0.1:${port}`;
    const t0 = Date.now();
    child.start();
    const res = await waitUntil(() => probeZipkin(url, 1000), { timeoutMs: opts.timeoutMs, intervalMs: 500, child });
    if (res !== 'ready') {
      const reason = res === 'exited' ? child.describeExit() : `was not ready after ${opts.timeoutMs} ms`;
      await child.kill();
      throw startFailed('Zipkin', reason, logFile, child.logTail());
    }
    child.markReady();
    opts.log(`Zipkin ${url} ready in ${Date.now() - t0} ms (pid ${child.pid})`);
    return new LocalZipkin(url, child, logFile);
  }

  async stop(): Promise<void> {
    await this.child.stop(10_000);
  }
}

/** The standard OTel SDK variables that send a service's traces to this Zipkin. */
export function zipkinOtelEnv(zipkinUrl: string): Record<string, string> {
  return {
    OTEL_TRACES_EXPORTER: 'zipkin',
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${zipkinUrl.replace(/\/$/, '')}/api/v2/spans`,
  };
}
