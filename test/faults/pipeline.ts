/**
 * The whole report path as real processes (intake, hash-check, notification, enforcement spawned
 * like scripts/start.ts runs them), a provider webhook that counts what it is given, and the
 * accounting of every stage: N partner reports in -> N stored reports or rejections -> each
 * accepted report matched or unmatched once -> each match in exactly one delivered initial notice
 * -> each case's deadline fired exactly once (one re-notice step, one re-notice delivered).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type nodeAssert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Topics } from '@hashcheck/events';
import { randomName, TopicRecorder, waitFor } from '@hashcheck/testing';
import { Partner, ServiceProcess, sleep } from './harness';

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export const PIPELINE_SERVICES = ['intake', 'hash-check', 'notification', 'enforcement'] as const;
export type ServiceName = (typeof PIPELINE_SERVICES)[number];

const ADMIN_KEY = 'faults-admin-key-0123456789abcdef0123456789';
const PROVIDER_ID = 'faults-hosting';
const WEBHOOK_SECRET = 'faults-webhook-secret-0123456789';
/** Deadline of every notice: short, so each case's timer fires within the scenario. */
export const DEADLINE_S = 20;

/**
 * What the partner sends with number i: valid unless i % 10 == 9; matches a list entry when
 * i % 4 == 0 (a quarter: every match becomes a case, and enforcement's case log on FerretDB is the
 * slowest stage of the path).
 */
export const contentHash = (i: number): string => sha256(`content-${i}`);
const expectMatch = (i: number): boolean => i % 4 === 0 && i % 10 !== 9;
/** Partner reports per pipeline scenario (FAULTS_PIPELINE_REPORTS). */
export const PIPELINE_N = Number(process.env.FAULTS_PIPELINE_REPORTS ?? 120);

export type WebhookMode = 'up' | '503' | 'refused';

interface Delivery {
  noticeId: string;
  kind: string;
  reportIds: string[];
  status: number;
  at: number;
}

/**
 * The provider's webhook. `503` answers every notice with 503, `refused` closes the listening
 * socket (connection refused), `up` takes notices with 202. Every request is kept.
 */
export class Webhook {
  readonly requests: Delivery[] = [];
  refusedSince = 0;
  mode: WebhookMode = 'up';
  port = 0;
  #server: Server;

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/abuse`;
  }

  async start(): Promise<void> {
    await new Promise<void>((ok) => this.#server.listen(this.port, '127.0.0.1', ok));
    const a = this.#server.address();
    if (typeof a === 'object' && a) this.port = a.port;
  }

  async set(mode: WebhookMode): Promise<void> {
    if (mode === this.mode) return;
    if (mode === 'refused') {
      this.#server.closeAllConnections();
      await new Promise<void>((ok) => this.#server.close(() => ok()));
    } else if (this.mode === 'refused') {
      this.#server = createServer((req, res) => this.#handle(req, res));
      await this.start();
    }
    this.mode = mode;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { noticeId?: string; kind?: string; items?: Array<{ reportId: string }> } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        // counted with an empty notice id: a body that is not JSON is itself a finding
      }
      const status = this.mode === '503' ? 503 : 202;
      this.requests.push({ noticeId: String(req.headers['idempotency-key'] ?? body.noticeId ?? ''), kind: body.kind ?? '?', reportIds: (body.items ?? []).map((i) => i.reportId), status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  }

  delivered(): Delivery[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((ok) => this.#server.close(() => ok()));
  }
}

export interface Pipeline {
  brokers: string;
  mongoUri: string;
  prefix: string;
  dbBase: string;
  logDir: string;
  mongo: MongoClient;
  recorder: TopicRecorder;
  webhook: Webhook;
  services: Map<ServiceName, ServiceProcess>;
  env(service: ServiceName): Record<string, string>;
  /** Every instance started, the second ones of a rebalance included. */
  all: ServiceProcess[];
}

export interface PipelineOptions {
  brokers: string;
  mongoUri: string;
  logDir?: string;
  /** Extra variables for every service (e.g. notification's retry settings). */
  extra?: Record<string, string>;
}

/** Starts the four services against the given stack, registers the provider and the hash list. */
export async function startPipeline(t: TestContext, o: PipelineOptions): Promise<Pipeline> {
  const prefix = `${randomName('faults')}.`;
  const dbBase = randomName('flt').replace(/-/g, '_');
  const logDir = join(o.logDir ?? process.env.HASHCHECK_STACK_LOG_DIR ?? tmpdir(), 'faults', prefix.slice(0, -1));
  mkdirSync(logDir, { recursive: true });
  const webhook = new Webhook();
  await webhook.start();
  t.after(() => webhook.close());
  const env = (service: ServiceName): Record<string, string> => ({
    KAFKA_BROKERS: o.brokers,
    // FAULTS_MONGO_URI_QUERY (e.g. `?maxPoolSize=100`) reaches the services only: to compare client settings.
    MONGODB_URI: o.mongoUri + (process.env.FAULTS_MONGO_URI_QUERY ?? ''),
    MONGODB_DATABASE: `${dbBase}_${service.replace(/-/g, '_')}`,
    KAFKA_TOPIC_PREFIX: prefix,
    // Default relay and poll intervals: on FerretDB each poll is a scan of the collection.
    LOG_LEVEL: 'warn',
    PROVIDER_SECRET_KEY: `k1:${'42'.repeat(32)}`,
    // intake
    INTAKE_API_KEYS: `ops:admin:${sha256(ADMIN_KEY)}`,
    // hash-check
    HASH_LIST_SECRET: `k1:${'ab'.repeat(24)}`,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin+hotline+checker:${sha256(ADMIN_KEY)}`,
    AUTH_CACHE_MS: '0',
    // notification: a notice per second of matches, retries for about a minute of webhook outage
    NOTIFICATION_API_KEYS: '',
    NOTICE_WINDOW_MS: '1000',
    NOTICE_POLL_MS: '500',
    NOTICE_LEASE_MS: '15000',
    WEBHOOK_TIMEOUT_MS: '5000',
    SMTP_TIMEOUT_MS: '3000',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1/32',
    WEBHOOK_BACKOFF_BASE_MS: '200',
    WEBHOOK_BACKOFF_CAP_MS: '2000',
    WEBHOOK_MAX_ATTEMPTS: '60',
    // enforcement: every case's first deadline passes within the scenario; the re-notice step
    // then waits a day, so each case has exactly one timer to fire here
    DEADLINE_DEFAULT: `${DEADLINE_S}s`,
    ESCALATION_LADDER: JSON.stringify([{ name: 'renotice', notify: true, deadline: '24h' }, { name: 'binding-instruction', requiresOfficer: true }]),
    TIMER_POLL_MS: '1000',
    TIMER_LEASE_MS: '10000',
    ADMIN_API_KEY: ADMIN_KEY,
    RETENTION_INTERVAL_MS: '0',
    ...o.extra,
  });
  const services = new Map<ServiceName, ServiceProcess>();
  for (const name of PIPELINE_SERVICES) services.set(name, new ServiceProcess(name, env(name), logDir));
  const p: Pipeline = { brokers: o.brokers, mongoUri: o.mongoUri, prefix, dbBase, logDir, mongo: new MongoClient(o.mongoUri, { retryWrites: false, serverSelectionTimeoutMS: 5000 }), recorder: new TopicRecorder(o.brokers), webhook, services, env, all: [...services.values()] };
  t.after(async () => {
    await Promise.allSettled(p.all.map((s) => s.kill('SIGTERM')));
  });
  await Promise.all([...services.values()].map((s) => s.start()));
  // Four processes compiling and connecting at once take minutes on a saturated machine.
  await Promise.all([...services.values()].map((s) => s.ready(240_000)));
  await p.mongo.connect();
  t.after(async () => {
    // A failed scenario keeps its databases (named in the diagnostics) for the post-mortem.
    if (!failed(t)) for (const s of PIPELINE_SERVICES) await p.mongo.db(`${dbBase}_${s.replace(/-/g, '_')}`).dropDatabase().catch(() => undefined);
    await p.mongo.close();
  });
  const topic = (x: string): string => prefix + x;
  await p.recorder.start([Topics.reportsAccepted, Topics.reportsRejected, Topics.reportsMatched, Topics.reportsUnmatched, Topics.noticesSent, Topics.noticesFailed, Topics.noticesRequested, Topics.enforcementEscalated, Topics.deadLetter].map(topic));
  t.after(() => p.recorder.stop());

  const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  const intake = services.get('intake')!;
  const hashCheck = services.get('hash-check')!;
  const post = async (base: string, path: string, body: unknown): Promise<void> => {
    const res = await fetch(base + path, { method: 'POST', headers: admin, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  };
  await post(intake.url, '/v1/providers', {
    id: PROVIDER_ID, name: 'Faults Hosting', country: 'NL', abuseContacts: [], webhook: { url: webhook.url, secret: WEBHOOK_SECRET },
    domains: Array.from({ length: 7 }, (_, i) => `files${i}.example`), ipRanges: [], category: 'hosting-nl',
  });
  await post(hashCheck.url, '/v1/lists', { id: 'faults-list', name: 'Faults list', source: 'hotline', category: 'csam-a', owner: 'faults' });
  const listed = Array.from({ length: 2000 }, (_, i) => i).filter(expectMatch);
  await post(hashCheck.url, '/v1/lists/faults-list/changes', { add: listed.map((i) => ({ type: 'sha256', hash: contentHash(i) })) });
  await waitFor(async () => {
    const res = await fetch(`${hashCheck.url}/v1/check`, { method: 'POST', headers: admin, body: JSON.stringify({ items: [{ type: 'sha256', hash: contentHash(0) }] }) });
    return res.ok && ((await res.json()) as { results?: Array<{ match?: boolean }> }).results?.[0]?.match === true;
  }, { timeoutMs: 60_000, what: 'the hash list live in hash-check' });
  // notification and enforcement learn the provider from the compacted providers topic
  await sleep(1000);
  return p;
}

function failed(t: TestContext): boolean {
  return (t as unknown as { passed?: boolean }).passed === false;
}

/** A second instance of a service, in the same consumer groups (a rebalance). */
export function secondInstance(p: Pipeline, name: ServiceName): ServiceProcess {
  const s = new ServiceProcess(name, p.env(name), p.logDir, 2);
  p.all.push(s);
  return s;
}

export interface Counts {
  acked: number;
  expectedAccepted: number;
  expectedRejected: number;
  expectedMatched: number;
  // intake
  storedReports: number;
  storedRejections: number;
  acceptedIds: number;
  acceptedMessages: number;
  rejectedIds: number;
  rejectedMessages: number;
  // hash-check
  matchedIds: number;
  matchedMessages: number;
  unmatchedIds: number;
  unmatchedMessages: number;
  /** Matched and unmatched both, or the wrong verdict. */
  wrongVerdicts: number;
  // notification
  webhookRequests: number;
  webhookRefusedAnswers: number;
  noticesDelivered: number;
  /** A notice id taken (2xx) more than once: the same notice sent again (same idempotency key). */
  noticeRedeliveries: number;
  /** Matched reports in a delivered initial notice. */
  initialNoticed: number;
  /** Reports in more than one distinct delivered initial notice: a notice sent twice. */
  initialDuplicates: number;
  noticesSentIds: number;
  noticesFailed: number;
  // enforcement
  cases: number;
  casesWithNotice: number;
  /** Cases whose first deadline has passed. */
  casesDue: number;
  /** Due cases whose timer fired (re-notice step issued). */
  timersFired: number;
  /** case_log records of a timer firing beyond the first per case, or a step issued twice. */
  timersFiredTwice: number;
  renoticeDelivered: number;
  renoticeDuplicates: number;
  escalatedIds: number;
  // what is missing, per stage (first few ids)
  missing: Record<string, string[]>;
  /** Dead letters of our prefix (poison, or a bug). */
  deadLetters: number;
}

interface CaseRecordDoc {
  caseId: string;
  seq: number;
  input: string;
  state: { reportIds?: string[]; notices?: Array<{ noticeId: string; sentAt: Date }>; steps?: Array<{ index: number }>; initialDeadlineAt?: Date | null };
}

/** Everything counted from the databases, the topics and the webhook. */
export async function countPipeline(p: Pipeline, partner: Partner): Promise<Counts> {
  const topic = (x: string): string => p.prefix + x;
  const ids = <T>(x: string, pick: (d: T) => string | undefined): { set: Set<string>; messages: number } => {
    const all = p.recorder.on(topic(x)).flatMap((m) => {
      try {
        const v = pick(m.json<{ data: T }>().data);
        return v === undefined ? [] : [v];
      } catch {
        return [];
      }
    }).filter((v) => v.startsWith('flt:'));
    return { set: new Set(all), messages: all.length };
  };
  const intakeDb = p.mongo.db(`${p.dbBase}_intake`);
  const reports = new Set((await intakeDb.collection('reports').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)).filter((x) => x.startsWith('flt:')));
  const rejections = new Set((await intakeDb.collection('rejections').find({}, { projection: { reportId: 1 } }).toArray()).map((d) => String(d.reportId)).filter((x) => x.startsWith('flt:')));
  const accepted = ids<{ reportId: string }>(Topics.reportsAccepted, (d) => d.reportId);
  const rejected = ids<{ reportId?: string }>(Topics.reportsRejected, (d) => d.reportId);
  const matched = ids<{ reportId: string }>(Topics.reportsMatched, (d) => d.reportId);
  const unmatched = ids<{ reportId: string }>(Topics.reportsUnmatched, (d) => d.reportId);

  const expectAcc = new Set<string>();
  const expectRej = new Set<string>();
  const expectMat = new Set<string>();
  for (const id of partner.acked) {
    if (partner.invalid.has(id)) expectRej.add(id);
    else expectAcc.add(id);
    if (expectMatch(Number(id.slice(4))) && !partner.invalid.has(id)) expectMat.add(id);
  }

  const missing: Record<string, string[]> = {};
  const miss = (stage: string, id: string): void => {
    (missing[stage] ??= []).push(id);
  };
  for (const id of expectAcc) {
    if (!reports.has(id)) miss('stored report', id);
    if (!accepted.set.has(id)) miss('reports.accepted', id);
    if (!matched.set.has(id) && !unmatched.set.has(id)) miss('matched or unmatched', id);
  }
  for (const id of expectRej) {
    if (!rejections.has(id)) miss('stored rejection', id);
    if (!rejected.set.has(id)) miss('reports.rejected', id);
  }
  let wrongVerdicts = 0;
  for (const id of matched.set) if (!expectMat.has(id) || unmatched.set.has(id)) wrongVerdicts++;
  for (const id of unmatched.set) if (expectMat.has(id)) wrongVerdicts++;
  for (const id of reports) if (expectRej.has(id)) wrongVerdicts++;

  // notification, seen from the provider's side
  const delivered = p.webhook.delivered();
  const byNotice = new Map<string, number>();
  for (const d of delivered) byNotice.set(d.noticeId, (byNotice.get(d.noticeId) ?? 0) + 1);
  const noticesOf = (kind: string): Map<string, Set<string>> => {
    const m = new Map<string, Set<string>>();
    for (const d of delivered.filter((x) => x.kind === kind)) {
      for (const r of d.reportIds) {
        const s = m.get(r) ?? new Set<string>();
        s.add(d.noticeId);
        m.set(r, s);
      }
    }
    return m;
  };
  const initial = noticesOf('initial');
  const renotice = noticesOf('renotice');
  for (const id of expectMat) if (!initial.has(id)) miss('initial notice delivered', id);

  // enforcement, from its case log (the view may trail the log)
  const log = (await p.mongo.db(`${p.dbBase}_enforcement`).collection<CaseRecordDoc>('case_log')
    .find({}, { projection: { caseId: 1, seq: 1, input: 1, 'state.reportIds': 1, 'state.notices': 1, 'state.steps': 1, 'state.initialDeadlineAt': 1 } }).toArray());
  const latest = new Map<string, CaseRecordDoc>();
  const fires = new Map<string, number>();
  for (const r of log) {
    const cur = latest.get(r.caseId);
    if (!cur || cur.seq < r.seq) latest.set(r.caseId, r);
    if (r.input === 'timer-fired') fires.set(r.caseId, (fires.get(r.caseId) ?? 0) + 1);
  }
  const caseOfReport = new Map<string, CaseRecordDoc>();
  for (const c of latest.values()) for (const r of c.state.reportIds ?? []) caseOfReport.set(r, c);
  const now = Date.now();
  let casesWithNotice = 0;
  let casesDue = 0;
  let timersFired = 0;
  let timersFiredTwice = 0;
  let renoticeDelivered = 0;
  let renoticeDuplicates = 0;
  for (const id of expectMat) {
    const c = caseOfReport.get(id);
    if (!c) {
      miss('case', id);
      continue;
    }
    if ((c.state.notices?.length ?? 0) > 0) casesWithNotice++;
    else miss('case has its notice', id);
    const steps = c.state.steps ?? [];
    if (new Set(steps.map((s) => s.index)).size !== steps.length) timersFiredTwice++;
    timersFiredTwice += Math.max(0, (fires.get(c.caseId) ?? 0) - 1);
    // 3 s of grace for the poll interval and a loaded machine
    const due = c.state.initialDeadlineAt ? new Date(c.state.initialDeadlineAt).getTime() + 3000 < now : false;
    if (due) {
      casesDue++;
      if (steps.some((s) => s.index === 0)) timersFired++;
      else miss('timer fired', id);
    }
    const rn = renotice.get(id);
    if (rn) renoticeDelivered++;
    if ((rn?.size ?? 0) > 1) renoticeDuplicates++;
    if (due && steps.some((s) => s.index === 0) && !rn) miss('re-notice delivered', id);
  }
  // Poison sent into these topics (poison.test.ts) is skipped: only the services' events count.
  const data = <T>(x: string): T[] => p.recorder.on(topic(x)).flatMap((m) => {
    try {
      const d = m.json<{ data?: T }>().data;
      return d && typeof d === 'object' ? [d] : [];
    } catch {
      return [];
    }
  });
  const escalated = new Set(data<{ caseId: string; stepIndex: number }>(Topics.enforcementEscalated).map((d) => `${d.caseId}#${d.stepIndex}`));
  const sentIds = new Set(data<{ noticeId: string }>(Topics.noticesSent).map((d) => d.noticeId));

  return {
    acked: partner.acked.size,
    expectedAccepted: expectAcc.size,
    expectedRejected: expectRej.size,
    expectedMatched: expectMat.size,
    storedReports: reports.size,
    storedRejections: rejections.size,
    acceptedIds: accepted.set.size,
    acceptedMessages: accepted.messages,
    rejectedIds: rejected.set.size,
    rejectedMessages: rejected.messages,
    matchedIds: matched.set.size,
    matchedMessages: matched.messages,
    unmatchedIds: unmatched.set.size,
    unmatchedMessages: unmatched.messages,
    wrongVerdicts,
    webhookRequests: p.webhook.requests.length,
    webhookRefusedAnswers: p.webhook.requests.filter((r) => r.status >= 500).length,
    noticesDelivered: byNotice.size,
    noticeRedeliveries: [...byNotice.values()].reduce((a, n) => a + n - 1, 0),
    initialNoticed: [...initial.keys()].filter((r) => expectMat.has(r)).length,
    initialDuplicates: [...initial.values()].filter((s) => s.size > 1).length,
    noticesSentIds: sentIds.size,
    // Events only: enforcement reads notices.failed, so the poison scenario sends its poison there too.
    noticesFailed: p.recorder.on(topic(Topics.noticesFailed)).filter(isEvent).length,
    cases: latest.size,
    casesWithNotice,
    casesDue,
    timersFired,
    timersFiredTwice,
    renoticeDelivered,
    renoticeDuplicates,
    escalatedIds: escalated.size,
    missing,
    deadLetters: p.recorder.on(topic(Topics.deadLetter)).length,
  };
}

/** A message that is an event of ours, not poison bytes or JSON that is no envelope. */
function isEvent(m: { json<T>(): T }): boolean {
  try {
    return typeof m.json<{ type?: unknown }>().type === 'string';
  } catch {
    return false;
  }
}

const complete = (c: Counts): boolean => Object.keys(c.missing).length === 0 && c.casesDue === c.expectedMatched;

/**
 * Waits until every stage has accounted for every report and every case's deadline has passed and
 * fired (or the time is up), and returns the last count.
 */
export async function settlePipeline(p: Pipeline, partner: Partner, timeoutMs: number): Promise<Counts> {
  const deadline = Date.now() + timeoutMs;
  let last = await countPipeline(p, partner);
  while (!complete(last) && Date.now() < deadline) {
    await sleep(4000);
    last = await countPipeline(p, partner);
  }
  // A little longer, so that a late duplicate (a redelivery after a restart) has the chance to show.
  await sleep(3000);
  return countPipeline(p, partner);
}

export function describeCounts(c: Counts): string {
  const missing = Object.entries(c.missing).map(([k, v]) => `${k}: ${v.length} (${v.slice(0, 5).join(', ')})`).join('; ') || 'none';
  return [
    `partner acked ${c.acked} (${c.expectedAccepted} valid, ${c.expectedRejected} invalid, ${c.expectedMatched} on the list)`,
    `intake: ${c.storedReports} reports + ${c.storedRejections} rejections stored; reports.accepted ${c.acceptedIds} ids / ${c.acceptedMessages} msgs; reports.rejected ${c.rejectedIds} / ${c.rejectedMessages}`,
    `hash-check: matched ${c.matchedIds} ids / ${c.matchedMessages} msgs; unmatched ${c.unmatchedIds} / ${c.unmatchedMessages}; wrong verdicts ${c.wrongVerdicts}`,
    `notification: webhook requests ${c.webhookRequests} (${c.webhookRefusedAnswers} answered 5xx); notices delivered ${c.noticesDelivered}; same notice id taken again ${c.noticeRedeliveries}; reports in a delivered initial notice ${c.initialNoticed}, in two or more ${c.initialDuplicates}; notices.sent ${c.noticesSentIds} ids; notices.failed ${c.noticesFailed}`,
    `enforcement: cases ${c.cases} (${c.casesWithNotice} with their notice); deadline passed ${c.casesDue}, timer fired ${c.timersFired}, fired twice ${c.timersFiredTwice}; re-notice delivered ${c.renoticeDelivered}, twice ${c.renoticeDuplicates}; escalations ${c.escalatedIds}`,
    `dead letters ${c.deadLetters}; missing: ${missing}`,
  ].join('\n');
}

/** The invariants of every scenario. */
export function assertAccounted(assert: typeof nodeAssert, c: Counts, n: number): void {
  assert.equal(c.acked, n, 'the partner did not get every report acknowledged');
  assert.deepEqual(c.missing, {}, 'every stage accounts for every report');
  assert.equal(c.storedReports + c.storedRejections, n, 'N in, N stored reports + rejections');
  assert.equal(c.acceptedIds + c.rejectedIds, n, 'N in, N distinct ids on reports.accepted + reports.rejected');
  assert.equal(c.matchedIds + c.unmatchedIds, c.expectedAccepted, 'each accepted report matched or unmatched');
  assert.equal(c.wrongVerdicts, 0, 'no wrong verdict');
  assert.equal(c.initialNoticed, c.expectedMatched, 'each match in a delivered initial notice');
  assert.equal(c.initialDuplicates, 0, 'no report in two delivered initial notices');
  assert.equal(c.noticesFailed, 0, 'no notice given up');
  assert.equal(c.casesDue, c.expectedMatched, 'every case reached its deadline within the scenario');
  assert.equal(c.timersFired, c.expectedMatched, 'every due timer fired');
  assert.equal(c.timersFiredTwice, 0, 'no timer fired twice');
  assert.equal(c.renoticeDuplicates, 0, 'no re-notice delivered twice');
}

/** Samples each instance's readiness every 250 ms: the transitions (ready / not ready / no answer) with times. */
export function watchAll(services: ServiceProcess[]): { stop: () => Map<string, string[]> } {
  const seen = new Map<string, string[]>();
  let running = true;
  const t0 = Date.now();
  for (const svc of services) {
    const key = `${svc.name}-${svc.instance}`;
    seen.set(key, []);
    void (async () => {
      let last = '';
      while (running) {
        const status = await svc.readiness();
        const now = status === 200 ? 'ready' : status === 503 ? 'not-ready' : 'down';
        if (now !== last) seen.get(key)!.push(`${now}@${((Date.now() - t0) / 1000).toFixed(1)}s`);
        last = now;
        await sleep(250);
      }
    })();
  }
  return { stop: () => { running = false; return seen; } };
}

export function describeReadiness(seen: Map<string, string[]>): string {
  return [...seen].map(([k, v]) => `${k}: ${v.join(' -> ')}`).join('; ');
}

/** What one file may spend (the test runner stops a file at 240 s under `npm test`); FAULTS_BUDGET_S raises it. */
export const BUDGET_MS = Number(process.env.FAULTS_BUDGET_S ?? 225) * 1000;
/** When this test file started (module evaluation): the budget counts from here. */
export const FILE_STARTED = Date.now();

export interface ScenarioResult {
  counts: Counts;
  streamSeconds: number;
  settleSeconds: number;
}

/**
 * Plays `n` partner reports at `rate`/s through the pipeline while `fault` runs, waits for every
 * stage to account for them, prints the counts and checks the invariants.
 */
export async function runScenario(
  t: TestContext,
  assert: typeof nodeAssert,
  p: Pipeline,
  o: { label: string; n: number; rate: number; fault: (stream: { done: () => boolean; stop: () => void }) => Promise<void> },
): Promise<ScenarioResult> {
  const partner = new Partner(p.brokers, p.prefix + Topics.reportsSubmitted);
  t.after(() => partner.close());
  const t0 = Date.now();
  let done = false;
  const stream = partner.run(o.n, o.rate).finally(() => { done = true; });
  await o.fault({ done: () => done, stop: () => partner.stop() });
  await stream;
  const streamSeconds = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  // Whatever the machine's speed, the counts are printed before the file's time is up.
  const counts = await settlePipeline(p, partner, FILE_STARTED + BUDGET_MS - 12_000 - Date.now());
  const settleSeconds = (Date.now() - t1) / 1000;
  t.diagnostic(`databases ${p.dbBase}_*, topic prefix ${p.prefix}, service logs in ${p.logDir}`);
  t.diagnostic(`${o.label}: stream ${streamSeconds.toFixed(1)} s (partner send retries ${partner.sendErrors}); accounted ${settleSeconds.toFixed(1)} s after the last send\n${describeCounts(counts)}`);
  t.diagnostic(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  assertAccounted(assert, counts, partner.acked.size);
  assert.ok(partner.acked.size > 0);
  return { counts, streamSeconds, settleSeconds };
}
