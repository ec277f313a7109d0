import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { EventCodec, Header, registry, ReportsSubmitted, Topics, type EventEnvelope } from '@hashcheck/events';

/**
 * `hashcheck report publish FILE.ndjson --brokers HOST:PORT[,…] [--source ID] [--topic-prefix P]
 *  [--no-validate] [--json]`
 *
 * Publishes reports to `hashcheck.reports.submitted.v1` exactly as a partner system would: plain
 * Kafka, key = reportId, JSON envelope. Each line of FILE (`-` = standard input) is either a full
 * `reports.submitted` v1 envelope or just its `data` object, which is wrapped in a new envelope
 * (`source` from the line, else `--source`). Lines are validated against the contract first and
 * nothing is sent if one is invalid, unless `--no-validate` (to see intake's rejections).
 *
 * Exit codes: 0 all published, 1 invalid input or publish failure, 2 usage error.
 */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

const defaultIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

export const REPORT_USAGE = 'usage: hashcheck report publish FILE.ndjson --brokers HOST:PORT[,...] [--source ID] [--topic-prefix PREFIX] [--no-validate] [--json]\n';

export interface ParsedLine {
  line: number;
  event?: EventEnvelope;
  /** Raw text of a line that is not JSON (only sent with --no-validate). */
  raw?: string;
  reasons: string[];
}

const codec = new EventCodec(registry);

/** Parses NDJSON into envelopes, wrapping bare `data` objects; every line gets its reasons (none = valid). */
export function parseReportLines(text: string, options: { source?: string; now?: Date } = {}): ParsedLine[] {
  const out: ParsedLine[] = [];
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const raw = rawLine.trim();
    if (raw === '' || raw.startsWith('#')) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      out.push({ line: i + 1, raw, reasons: [`not JSON: ${(err as Error).message}`] });
      return;
    }
    let event: EventEnvelope;
    if (typeof value === 'object' && value !== null && 'type' in value && 'data' in value) {
      event = value as EventEnvelope;
    } else {
      const data = (typeof value === 'object' && value !== null ? { ...value } : value) as Record<string, unknown>;
      if (typeof data === 'object' && data !== null && data.source === undefined && options.source) data.source = options.source;
      const reportId = typeof data?.reportId === 'string' ? data.reportId : `line-${i + 1}`;
      const source = typeof data?.source === 'string' ? data.source : (options.source ?? 'unknown');
      event = { id: randomUUID(), type: ReportsSubmitted.type, version: ReportsSubmitted.version, occurredAt: (options.now ?? new Date()).toISOString(), source, subject: reportId, data };
    }
    const v = codec.validate(event);
    out.push({ line: i + 1, event, reasons: v.ok ? [] : v.error.reasons });
  });
  return out;
}

export function toMessage(p: ParsedLine): Message {
  if (!p.event) return { key: null, value: p.raw ?? '' };
  const e = p.event;
  return {
    key: typeof e.subject === 'string' ? e.subject : null,
    value: JSON.stringify(e),
    headers: { [Header.EVENT_TYPE]: String(e.type), [Header.EVENT_VERSION]: String(e.version), [Header.EVENT_ID]: String(e.id), [Header.CONTENT_TYPE]: 'application/json' },
  };
}

/** Runs `hashcheck report ...` with the arguments after `report`; resolves to the exit code. */
export async function reportCommand(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'publish') {
    io.stderr(REPORT_USAGE);
    return 2;
  }
  let file: string | undefined;
  let brokers = process.env.KAFKA_BROKERS;
  let prefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
  let source: string | undefined;
  let validate = true;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = (): string | undefined => rest[++i];
    if (a === '--brokers') brokers = value();
    else if (a === '--topic-prefix') prefix = value() ?? '';
    else if (a === '--source') source = value();
    else if (a === '--no-validate') validate = false;
    else if (a === '--json') json = true;
    else if (a.startsWith('--')) {
      io.stderr(`unknown option ${a}\n${REPORT_USAGE}`);
      return 2;
    } else if (file === undefined) file = a;
    else {
      io.stderr(`unexpected argument ${a}\n${REPORT_USAGE}`);
      return 2;
    }
  }
  if (!file || !brokers) {
    io.stderr(`${!file ? 'FILE is required' : '--brokers (or KAFKA_BROKERS) is required'}\n${REPORT_USAGE}`);
    return 2;
  }
  let text: string;
  try {
    text = file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    io.stderr(`cannot read ${file}: ${(err as Error).message}\n`);
    return 2;
  }
  const parsed = parseReportLines(text, source ? { source } : {});
  const invalid = parsed.filter((p) => p.reasons.length > 0);
  if (validate && invalid.length > 0) {
    for (const p of invalid) io.stderr(`line ${p.line}: ${p.reasons.join('; ')}\n`);
    io.stderr(`${invalid.length} of ${parsed.length} lines are invalid; nothing was published (--no-validate sends them anyway)\n`);
    return 1;
  }
  const topic = prefix + Topics.reportsSubmitted;
  const kafka = new Kafka({ clientId: 'hashcheck-cli', brokers: brokers.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 5000 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const started = Date.now();
  try {
    await producer.connect();
    for (let i = 0; i < parsed.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: parsed.slice(i, i + 500).map(toMessage) });
    }
  } catch (err) {
    io.stderr(`publish to ${topic} failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  const summary = { topic, published: parsed.length, invalidSent: validate ? 0 : invalid.length, ms: Date.now() - started, reportIds: parsed.map((p) => p.event?.subject ?? null) };
  if (json) io.stdout(`${JSON.stringify(summary)}\n`);
  else io.stdout(`published ${summary.published} report(s) to ${topic} in ${summary.ms} ms${summary.invalidSent ? ` (${summary.invalidSent} invalid, sent on purpose)` : ''}\n`);
  return 0;
}
