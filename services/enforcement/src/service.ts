import { randomUUID } from 'node:crypto';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';
import type {
  EventEnvelope,
  HashesRetractionRequestedData,
  NoticesFailedData,
  NoticesSentData,
  RemovalsReportedData,
  ReportsMatchedData,
} from '@hashcheck/events';
import type { Filter } from 'mongodb';
import type { Clock } from './domain/clock';
import { CaseStatus, decide, type CaseContext, type CaseInput, type CaseState, type Decision, type DisputeDecisionValue, type OfficerDecisionValue } from './domain/case';
import { applicableDeadline, type AppliedDeadline } from './domain/policy';
import type { EnforcementSettings } from './config';
import type { ApplyResult, CaseDocument, CaseStore, WriteAround } from './store/cases';
import type { OrderStore } from './store/orders';
import { Attr, Step, withLinkedSpan, withLinkedTrace, withSpan } from '@hashcheck/telemetry';

/** What enforcement needs to know about a provider (from the provider registry). */
export interface ProviderInfo {
  name: string;
  country: string;
  category: string;
}

export interface ProviderDirectory {
  get(id: string): ProviderInfo | undefined;
}

export interface ServiceLogger {
  info: (o: object, m: string) => void;
  warn: (o: object, m: string) => void;
  error: (o: object, m: string) => void;
  debug: (o: object, m: string) => void;
}

export interface EnforcementDeps {
  cases: CaseStore;
  orders: OrderStore;
  clock: Clock;
  settings: EnforcementSettings;
  providers: ProviderDirectory;
  logger: ServiceLogger;
  instanceId: string;
  leaseMs: number;
  batch: number;
}

export interface CaseOutcome {
  caseId: string;
  result: 'changed' | 'unchanged' | 'refused';
  message?: string;
  state?: CaseState;
}

const OPEN_STATUSES = [CaseStatus.PENDING, CaseStatus.OPEN, CaseStatus.DISPUTED, CaseStatus.AWAITING_OFFICER];

function refusal(d: Extract<Decision, { kind: 'refused' }>): HashCheckError {
  const code = d.code === 'not-found' ? ErrorCode.NOT_FOUND : d.code === 'conflict' ? ErrorCode.CONFLICT : ErrorCode.VALIDATION;
  return new HashCheckError(code, d.message);
}

/**
 * The application layer: turns events, HTTP commands and due timers into case inputs, gathers
 * what the pure decision needs (the applicable deadline policy, re-upload history), and applies
 * them through the store.
 */
export class EnforcementService {
  /** Timer work done by this instance (observability, and the double-fire test). */
  readonly timerStats = { claimed: 0, fired: 0, released: 0, failed: 0 };

  constructor(readonly deps: EnforcementDeps) {}

  get clock(): Clock {
    return this.deps.clock;
  }

  async policyFor(providerId: string | null, at: Date): Promise<AppliedDeadline> {
    const { settings, orders, providers } = this.deps;
    if (!providerId) return applicableDeadline(settings.policy, { at });
    return applicableDeadline(settings.policy, { at, category: providers.get(providerId)?.category ?? null, orders: await orders.forProvider(providerId) });
  }

  async #apply(caseId: string, input: CaseInput, opts: { create?: { id: string; caseKey: string }; providerHint?: string | null } = {}): Promise<ApplyResult> {
    const now = this.deps.clock.now();
    // Orders apply to notices sent while in force: a notice's clock takes the policy of its
    // `sentAt`, however late it is consumed. Everything else (re-notices asked now) takes now's.
    const policyAt = input.type === 'notice-sent' ? input.sentAt : now;
    return this.deps.cases.apply(
      caseId,
      async (state) => {
        const ctx: CaseContext = { now, ladder: this.deps.settings.ladder, policy: await this.policyFor(state?.providerId ?? opts.providerHint ?? null, policyAt) };
        return decide(state, input, ctx, opts.create);
      },
      { now, input: input.type, around: this.#traced(caseId) },
    );
  }

  /**
   * A change that is a domain step (the clock starts, an escalation, the case closes) is written
   * inside that step's span, so the events it emits are published as the span's children. An
   * escalation or a closing happens long after the report: its span also links to the trace the
   * case was opened in (the report's), whatever trace it runs in (a deadline's, an HTTP call's).
   */
  #traced(caseId: string): WriteAround {
    return async (decision, write) => {
      const s = decision.state;
      const base = { [Attr.CASE_ID]: caseId, ...(s.providerId ? { [Attr.PROVIDER_ID]: s.providerId } : {}) };
      // The case's first record was written in the trace of the report that opened it.
      const opened = async () => [await this.deps.cases.traceOf(caseId, 1)];
      for (const effect of decision.effects) {
        if (effect.type === 'escalated') return withLinkedSpan(Step.ESCALATE, opened, 'report', { ...base, [Attr.STEP]: effect.step, [Attr.STEP_INDEX]: effect.stepIndex }, write);
        if (effect.type === 'closed') return withLinkedSpan(Step.CLOSE_CASE, opened, 'report', { ...base, [Attr.OUTCOME]: effect.outcome }, write);
      }
      if (decision.evidence.some((e) => e.kind === 'clock.started')) {
        const notice = s.notices[s.notices.length - 1];
        return withSpan(Step.START_CLOCK, { ...base, ...(notice ? { [Attr.NOTICE_ID]: notice.noticeId } : {}) }, write);
      }
      return write();
    };
  }

  // ---- events ------------------------------------------------------------------------------

  async handleReportMatched(event: EventEnvelope<ReportsMatchedData>): Promise<void> {
    const r = event.data;
    if (!r.providerId) {
      this.deps.logger.debug({ reportId: r.reportId }, 'matched report without a resolved provider: nothing to enforce');
      return;
    }
    const hashes = matchedHashKeys(r);
    const previous = hashes.length === 0 ? null : await this.deps.cases.coll.findOne(
      { providerId: r.providerId, hashes: { $in: hashes }, status: CaseStatus.CLOSED, outcome: 'removed', _id: { $ne: r.caseId } } as Filter<CaseDocument>,
      { projection: { _id: 1, hashes: 1 } },
    );
    const reuploadOf = previous ? { caseId: previous._id, hash: previous.hashes.find((h) => hashes.includes(h)) ?? hashes[0]! } : null;
    const res = await this.#apply(r.caseId, {
      type: 'report-matched', eventId: event.id, caseKey: r.caseKey, reportId: r.reportId, providerId: r.providerId,
      url: r.url, host: r.host, ...(r.ip ? { ip: r.ip } : {}), hashes,
      matches: r.matches.map((m) => ({ listId: m.listId, listName: m.listName, category: m.category, hashType: m.hashType, distance: m.distance })),
      receivedAt: r.receivedAt, checkedAt: r.checkedAt, reuploadOf,
    }, { create: { id: r.caseId, caseKey: r.caseKey }, providerHint: r.providerId });
    // Only once the case has its notice: the removal's time counts from the notice, which this
    // backlog may still hold (notices.sent), and a case closed before it would record none.
    if ((res.state?.notices.length ?? 0) > 0) await this.#applyParked({ caseId: r.caseId, caseKey: r.caseKey, reportId: r.reportId, url: r.url });
  }

  async handleNoticeSent(event: EventEnvelope<NoticesSentData>): Promise<void> {
    const n = event.data;
    for (const item of n.items) {
      const caseId = item.caseId ?? (await this.#caseIdFor(item.reportId, item.caseKey));
      await this.#apply(caseId, {
        type: 'notice-sent', eventId: event.id, noticeId: n.noticeId, providerId: n.providerId, caseKey: item.caseKey, reportId: item.reportId,
        url: item.url, channel: n.channel, contact: n.contact, sentAt: new Date(n.sentAt), noticeDeadlineAt: new Date(item.deadlineAt),
        ...(n.requestId ? { requestId: n.requestId } : {}), ...(n.attempt ? { attempt: n.attempt } : {}), deliveryProof: n.deliveryProof,
      }, { create: { id: caseId, caseKey: item.caseKey }, providerHint: n.providerId });
      await this.#applyParked({ caseId, caseKey: item.caseKey, reportId: item.reportId, url: item.url });
    }
  }

  /**
   * A notice that reached nobody (`undeliverable: true`, with its items): each case gets a
   * `notice.failed` evidence entry and, if it was waiting on that delivery, goes to a case officer.
   * A channel given up while another is still tried (`undeliverable: false`) changes nothing: a
   * `notices.sent` or an undeliverable failure follows, and such events name no items anyway.
   * Unknown cases are created, as for notices.sent (the match may still be in the backlog).
   */
  async handleNoticeFailed(event: EventEnvelope<NoticesFailedData>): Promise<void> {
    const f = event.data;
    if (!f.undeliverable) {
      this.deps.logger.debug({ noticeId: f.noticeId, channel: f.channel }, 'notice channel given up, another is tried: nothing to enforce yet');
      return;
    }
    if (!f.items || f.items.length === 0) {
      this.deps.logger.warn({ eventId: event.id, noticeId: f.noticeId, providerId: f.providerId, reason: f.reason }, 'undeliverable notice names no items: no case to record it on');
      return;
    }
    const failedAt = new Date(f.failedAt ?? event.occurredAt);
    for (const item of f.items) {
      const caseId = item.caseId ?? (await this.#caseIdFor(item.reportId, item.caseKey));
      const res = await this.#apply(caseId, {
        type: 'notice-failed', eventId: event.id, noticeId: f.noticeId, providerId: f.providerId, caseKey: item.caseKey, reportId: item.reportId,
        url: item.url, channel: f.channel, ...(f.contact ? { contact: f.contact } : {}), reason: f.reason, ...(f.attempt ? { attempt: f.attempt } : {}), failedAt,
      }, { create: { id: caseId, caseKey: item.caseKey }, providerHint: f.providerId });
      if (res.decision.kind === 'changed' && res.decision.evidence.some((e) => e.kind === 'escalation.proposed')) {
        this.deps.logger.warn({ caseId, noticeId: f.noticeId, providerId: f.providerId }, 'notice undeliverable: case awaits a case officer');
      }
    }
  }

  /** Items without a case id (older notices): the case that holds the report, or the open case of that content. */
  async #caseIdFor(reportId: string, caseKey: string): Promise<string> {
    const byReport = await this.deps.cases.coll.findOne({ reportIds: reportId }, { projection: { _id: 1 } });
    if (byReport) return byReport._id;
    const open = await this.deps.cases.coll.findOne({ caseKey, status: { $in: OPEN_STATUSES } } as Filter<CaseDocument>, { projection: { _id: 1 } });
    return open?._id ?? `${caseKey}.0`;
  }

  async handleRemovalReported(event: EventEnvelope<RemovalsReportedData>): Promise<void> {
    const r = event.data;
    const caseId = await this.#locate(r);
    if (!caseId) {
      await this.deps.cases.park(event.id, r, this.deps.clock.now());
      this.deps.logger.info({ eventId: event.id, reportId: r.reportId, caseId: r.caseId }, 'removal report names no case seen yet; kept until the case arrives');
      return;
    }
    await this.#applyRemoval(event.id, r, caseId);
  }

  async #applyRemoval(eventId: string, r: RemovalsReportedData, caseId: string): Promise<void> {
    const observedAt = new Date(r.observedAt);
    const input: CaseInput = r.status === 'removed'
      ? { type: 'removal', source: 'observer', eventId, removedAt: observedAt, by: r.reporter }
      : { type: 'still-online', eventId, observedAt, by: r.reporter };
    const res = await this.#apply(caseId, input);
    if (res.decision.kind === 'refused') this.deps.logger.warn({ caseId, reason: res.decision.message }, 'removal report refused');
  }

  /**
   * Applies the removal reports kept for a case just written (CaseStore.park). Each keeps its event
   * id, which the case records: a crash before the kept report is removed applies it once only.
   */
  async #applyParked(c: { caseId: string; caseKey: string; reportId: string; url: string }): Promise<void> {
    for (const p of await this.deps.cases.parkedFor(c)) {
      const caseId = await this.#locate(p.report);
      if (!caseId) continue;
      await this.#applyRemoval(p._id, p.report, caseId);
      await this.deps.cases.unpark(p._id);
    }
  }

  async #locate(r: RemovalsReportedData): Promise<string | undefined> {
    const coll = this.deps.cases.coll;
    const newest = { sort: { createdAt: -1 as const }, projection: { _id: 1 } };
    // By id, the log is authoritative (the view may not have caught up with a case just opened).
    if (r.caseId) return (await this.deps.cases.latest(r.caseId)) ? r.caseId : undefined;
    const provider = r.providerId ? { providerId: r.providerId } : {};
    // Prefer the open case; a report about a closed one is still evidence for it.
    for (const filter of [
      r.caseKey ? { caseKey: r.caseKey } : null,
      r.reportId ? { reportIds: r.reportId } : null,
      r.url ? { url: r.url, ...provider } : null,
    ]) {
      if (!filter) continue;
      const open = await coll.findOne({ ...filter, status: { $in: OPEN_STATUSES } } as Filter<CaseDocument>, newest);
      if (open) return open._id;
      const any = await coll.findOne(filter as Filter<CaseDocument>, newest);
      if (any) return any._id;
    }
    return undefined;
  }

  /** Closes every open case on the retracted hash as a false positive (idempotent). */
  async handleRetractionRequested(event: EventEnvelope<HashesRetractionRequestedData>): Promise<number> {
    const r = event.data;
    if (!r.hashType || !r.hash) return 0;
    return this.sweepFalsePositive(`${r.hashType}:${r.hash}`, r.requestId, r.caseId ?? null, new Date(event.occurredAt));
  }

  /**
   * Closes the cases on the hash that were open when the false positive was decided (`asOf`). A
   * case opened later (the hotline may reject the retraction, and the hash keep matching) is not
   * the request's to close: a replay of the topic months later would otherwise close it.
   */
  async sweepFalsePositive(hashKey: string, requestId: string, sourceCaseId: string | null, asOf: Date): Promise<number> {
    const open = await this.deps.cases.coll
      .find({ hashes: hashKey, status: { $in: OPEN_STATUSES }, createdAt: { $lte: asOf } } as Filter<CaseDocument>, { projection: { _id: 1 } })
      .toArray();
    let closed = 0;
    for (const c of open) {
      const res = await this.#apply(c._id, { type: 'false-positive-sweep', hash: hashKey, requestId, sourceCaseId });
      if (res.decision.kind === 'changed') closed += 1;
    }
    return closed;
  }

  // ---- HTTP commands ---------------------------------------------------------------------------

  async casesOfNotice(noticeId: string, providerId: string | null): Promise<CaseState[]> {
    const found = await this.deps.cases.find({ 'notices.noticeId': noticeId } as Filter<CaseDocument>);
    // A provider key never learns whether another provider's notice exists.
    const visible = providerId ? found.filter((c) => c.providerId === providerId) : found;
    if (visible.length === 0) throw new HashCheckError(ErrorCode.NOT_FOUND, `no notice ${noticeId}`);
    return visible;
  }

  #select(cases: CaseState[], filter: { caseIds?: string[]; urls?: string[] }): CaseState[] {
    if (!filter.caseIds && !filter.urls) return cases;
    const chosen = cases.filter((c) => filter.caseIds?.includes(c.id) || (c.url !== null && filter.urls?.includes(c.url)));
    if (chosen.length === 0) throw new HashCheckError(ErrorCode.NOT_FOUND, 'none of the given cases or URLs belongs to this notice');
    return chosen;
  }

  async confirmRemoval(noticeId: string, actor: { providerId: string | null; label: string }, body: { caseIds?: string[]; urls?: string[]; removedAt?: string; note?: string }): Promise<CaseOutcome[]> {
    const cases = this.#select(await this.casesOfNotice(noticeId, actor.providerId), body);
    const out: CaseOutcome[] = [];
    for (const c of cases) {
      // The provider's own timestamp is recorded, but the clock stops when we hear of it.
      const res = await this.#apply(c.id, {
        type: 'removal', source: 'provider', removedAt: this.deps.clock.now(), by: actor.label, noticeId,
        ...(body.removedAt ? { claimedRemovedAt: new Date(body.removedAt) } : {}), ...(body.note ? { note: body.note } : {}),
      });
      out.push(outcome(c.id, res));
    }
    return out;
  }

  async openDispute(noticeId: string, actor: { providerId: string | null; label: string }, body: { reason: string; caseIds?: string[]; urls?: string[] }): Promise<Array<CaseOutcome & { disputeId?: string }>> {
    const cases = this.#select(await this.casesOfNotice(noticeId, actor.providerId), body);
    const out: Array<CaseOutcome & { disputeId?: string }> = [];
    for (const c of cases) {
      const disputeId = randomUUID();
      const res = await this.#apply(c.id, { type: 'dispute-opened', disputeId, noticeId, reason: body.reason, by: actor.label });
      out.push({ ...outcome(c.id, res), ...(res.decision.kind === 'changed' ? { disputeId } : {}) });
    }
    return out;
  }

  async decideDispute(disputeId: string, by: string, body: { decision: DisputeDecisionValue; note?: string }): Promise<{ state: CaseState; sweptCases: number }> {
    const found = await this.deps.cases.coll.findOne({ 'disputes.id': disputeId } as Filter<CaseDocument>, { projection: { _id: 1 } });
    if (!found) throw new HashCheckError(ErrorCode.NOT_FOUND, `no dispute ${disputeId}`);
    const res = await this.#apply(found._id, { type: 'dispute-decided', disputeId, decision: body.decision, by, ...(body.note ? { note: body.note } : {}) });
    if (res.decision.kind === 'refused') throw refusal(res.decision);
    let sweptCases = 0;
    if (body.decision === 'false-positive' && res.state) {
      // The consumer of the retraction request does the same; doing it here too makes the answer current.
      const decidedAt = this.clock.now();
      for (const h of res.state.hashes) sweptCases += await this.sweepFalsePositive(h, `${disputeId}:${h.split(':')[0]}`, res.state.id, decidedAt);
    }
    return { state: res.state!, sweptCases };
  }

  async officerDecision(caseId: string, officer: string, body: { stepIndex: number; decision: OfficerDecisionValue; until?: string; note?: string }): Promise<CaseState> {
    const res = await this.#apply(caseId, {
      type: 'officer-decision', stepIndex: body.stepIndex, decision: body.decision, officer,
      ...(body.until ? { until: new Date(body.until) } : {}), ...(body.note ? { note: body.note } : {}),
    });
    if (res.decision.kind === 'refused') throw refusal(res.decision);
    return res.state!;
  }

  // ---- timers ----------------------------------------------------------------------------------

  /**
   * Fires due timers: each is claimed first (one instance wins the claim), then applied as a new
   * case record (one writer wins the record). Returns how many fired.
   */
  async fireDueTimers(): Promise<number> {
    const { cases, instanceId, leaseMs, batch, logger } = this.deps;
    let fired = 0;
    for (const due of await cases.dueCases(this.deps.clock.now(), batch)) {
      const attempt = await cases.claimTimer(due.id, due.seq, instanceId, leaseMs);
      if (attempt === undefined) continue;
      this.timerStats.claimed += 1;
      try {
        // A deadline fires hours after the notice: its own trace, linked to the change that set it.
        const origin = await cases.traceOf(due.id, due.seq);
        const res = await withLinkedTrace(Step.DEADLINE, origin, { [Attr.CASE_ID]: due.id }, () => this.#apply(due.id, { type: 'timer-fired' }));
        if (res.decision.kind === 'changed') {
          fired += 1;
          this.timerStats.fired += 1;
        } else {
          // Nothing due after all: the view trailed a change (a removal, a dispute). Bring it up
          // to date so the case stops being a candidate; the claim's lease throttles any retry.
          this.timerStats.released += 1;
          await cases.refreshView(due.id);
        }
      } catch (err) {
        // The claim stays until its lease runs out; then this or another instance tries again.
        this.timerStats.failed += 1;
        logger.error({ err, caseId: due.id }, 'firing a timer failed; it is retried when its claim expires');
      }
    }
    return fired;
  }

  // ---- retention -------------------------------------------------------------------------------

  async runRetention(): Promise<{ anonymised: number; parkedRemoved: number; cutoff: Date }> {
    const now = this.deps.clock.now();
    const cutoff = new Date(now.getTime() - this.deps.settings.retentionAfterMs);
    const anonymised = await this.deps.cases.anonymiseClosedBefore(cutoff, now);
    if (anonymised > 0) this.deps.logger.info({ anonymised, cutoff }, 'retention: anonymised closed cases');
    // Removal reports kept for a case never seen (removals_parked) hold URLs too.
    const parkedRemoved = await this.deps.cases.dropParkedBefore(cutoff);
    if (parkedRemoved > 0) this.deps.logger.info({ parkedRemoved, cutoff }, 'retention: deleted kept removal reports for cases never seen');
    return { anonymised, parkedRemoved, cutoff };
  }
}

function outcome(caseId: string, res: ApplyResult): CaseOutcome {
  const d = res.decision;
  return {
    caseId,
    result: d.kind,
    ...(d.kind === 'refused' ? { message: d.message } : d.kind === 'unchanged' ? { message: d.reason } : {}),
    ...(res.state ? { state: res.state } : {}),
  };
}

/** `type:hex` for every hash type that matched a list (what re-uploads and retractions key on). */
export function matchedHashKeys(r: Pick<ReportsMatchedData, 'hashes' | 'matches'>): string[] {
  const keys = new Set<string>();
  for (const m of r.matches) {
    const value = r.hashes[m.hashType];
    if (value) keys.add(`${m.hashType}:${value}`);
  }
  return [...keys];
}
