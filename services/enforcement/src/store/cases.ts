import type { Collection, Db, Filter } from 'mongodb';
import type { RemovalsReportedData } from '@hashcheck/events';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import { appendEntries, redactEntry, type ChainHead, type EvidenceEntry } from '@hashcheck/evidence';
import { OUTBOX_INDEX, type CollectionIndexes, type OutboxEntry, type OutboxHint, type WithOutbox } from '@hashcheck/mongo';
import { newCase, type CaseEffect, type CaseState, type Decision } from '../domain/case';
import { currentCarrier } from '@hashcheck/telemetry';

/**
 * Storage of cases, built on the one write that is atomic on every server we run on: inserting a
 * document with a new `_id`.
 *
 * Why not update one document with a version guard? FerretDB 1.24 (the local MongoDB-wire
 * server, SQLite backend) applies an update by reading the document, changing it in memory and
 * writing it back by `_id`, outside one transaction. Concurrent updates of one document are lost
 * (50 parallel `$inc` gave 29), and a conditional update or findOneAndUpdate does not exclude a
 * second writer (12 of 20 concurrent claims "won"). Inserting a duplicate `_id` fails reliably.
 *
 * So every change of a case is a new immutable record `<caseId>@<seq>` in `case_log`, holding
 * the state after the change, the evidence entries it appends and the events it emits (the
 * embedded outbox). Two writers that read the same `seq` both try to insert `seq + 1`; exactly
 * one succeeds and the other decides again on the new state. That is what makes a timer fire
 * once however many instances poll it, keeps the evidence chain from forking, and keeps the
 * state, its evidence and its events all-or-nothing. The outbox relay is the only other writer
 * of a record (it removes published entries), so nothing it does can be undone by a case write.
 *
 * `cases` is a view: the latest record's state per case, for queries (by notice, dispute, hash,
 * status, due time). Writers refresh it after inserting a record and re-check for a newer record
 * afterwards, so it converges on the latest state; decisions never trust it, they read the log.
 */
export const CASES = 'cases';
export const CASE_LOG = 'case_log';
export const TIMER_CLAIMS = 'timer_claims';
/**
 * The due timers: one small document per case that has a due time, derived from the latest
 * record like the view. Pollers scan this instead of the view because FerretDB 1.24 pushes down
 * only `_id` equality: any other query reads and decodes every document of the collection, and
 * these stay ~100 bytes each and exist only while a case has a timer.
 */
export const TIMERS = 'timers';

export interface TimerDocument {
  _id: string;
  seq: number;
  dueAt: Date;
}

export type StoredState = Omit<CaseState, 'id'>;

export interface CaseRecord extends WithOutbox {
  _id: string;
  /** Trace context of the change; a timer fired much later links back to it (a trace of its own). */
  trace?: Record<string, string>;
  caseId: string;
  seq: number;
  at: Date;
  /** The input that made this change (for the audit trail). */
  input: string;
  state: StoredState;
  /** The evidence entries this change appended. */
  evidence: EvidenceEntry[];
  /** The chain head after this change. */
  evidenceHead: ChainHead | null;
  anonymisedAt?: Date | null;
}

/** The query view: one document per case, the state of its latest record. */
export interface CaseDocument extends StoredState {
  _id: string;
  seq: number;
  evidenceHead: ChainHead | null;
  /** Set by the retention job; a later record drops it, so the job visits the case again. */
  anonymisedAt?: Date | null;
}

/** One instance's reservation of the timer of one record; `attempt` grows when a lease lapses. */
export interface TimerClaim {
  _id: string;
  caseId: string;
  seq: number;
  attempt: number;
  owner: string;
  claimedAt: Date;
  leaseUntil: Date;
}

export const CASE_INDEXES: CollectionIndexes[] = [
  {
    collection: CASES,
    indexes: [
      { key: { 'notices.noticeId': 1 }, name: 'by_notice' },
      { key: { 'disputes.id': 1 }, name: 'by_dispute' },
      { key: { hashes: 1 }, name: 'by_hash' },
      { key: { caseKey: 1 }, name: 'by_case_key' },
      // Removal reports that give only a URL (service #locate).
      { key: { url: 1, createdAt: -1 }, name: 'by_url' },
      { key: { reportIds: 1 }, name: 'by_report' },
      { key: { providerId: 1, status: 1 }, name: 'by_provider_status' },
      { key: { status: 1, closedAt: 1 }, name: 'by_closed' },
    ],
  },
  { collection: CASE_LOG, indexes: [{ key: { caseId: 1, seq: 1 }, name: 'by_case_seq' }, OUTBOX_INDEX] },
  { collection: TIMER_CLAIMS, indexes: [{ key: { caseId: 1, seq: 1 }, name: 'by_case_seq' }] },
  { collection: TIMERS, indexes: [{ key: { dueAt: 1 }, name: 'by_due' }] },
];

export const recordId = (caseId: string, seq: number): string => `${caseId}@${seq}`;
const claimId = (caseId: string, seq: number, attempt: number): string => `${caseId}@${seq}#${attempt}`;

const STATE_KEYS = Object.keys(newCase('', '', new Date(0))).filter((k) => k !== 'id') as Array<keyof StoredState>;

export function stateOf(id: string, stored: Partial<StoredState>): CaseState {
  const base = newCase(id, stored.caseKey ?? '', stored.createdAt ?? new Date(0));
  const picked: Record<string, unknown> = {};
  for (const k of STATE_KEYS) if (stored[k] !== undefined) picked[k] = stored[k];
  return { ...base, ...picked, id } as CaseState;
}

function stored(s: CaseState): StoredState {
  const { id: _id, ...rest } = s;
  return rest;
}

/**
 * The events of a change. `evidenceHead` is the chain head after the change (its record's own
 * head), published so the head is anchored outside the database.
 */
export type ToOutbox = (state: CaseState, effects: readonly CaseEffect[], at: Date, evidenceHead: ChainHead | null) => OutboxEntry[];

type ChangedDecision = Extract<Decision, { kind: 'changed' }>;

/**
 * Runs the write of a decided change, e.g. inside a span named after what the change is (the
 * record and its outbox entries capture the trace context active during the write).
 */
export type WriteAround = (decision: ChangedDecision, write: () => Promise<ApplyResult | undefined>) => Promise<ApplyResult | undefined>;

export interface ApplyResult {
  decision: Decision;
  /** The state after the decision (or as found when nothing changed). */
  state: CaseState | undefined;
  /** Evidence entries appended by this change. */
  appended: EvidenceEntry[];
  seq: number;
}

const MAX_ATTEMPTS = 25;

/** Removal reports kept until enforcement has seen the case they name (see CaseStore.park). */
/** What `CaseStore.evidence` read. */
export interface EvidenceRead {
  entries: EvidenceEntry[];
  /** The head the latest record read claims. */
  head: ChainHead | null;
  /** Sequence numbers of the records read, in order. */
  recordSeqs: number[];
  /** The view's latest record and head, if there is a view. */
  view: { seq: number; evidenceHead: ChainHead | null } | null;
}

export const PARKED_REMOVALS = 'removals_parked';

export interface ParkedRemoval {
  /** The removal event's id. */
  _id: string;
  report: RemovalsReportedData;
  parkedAt: Date;
}

export class CaseStore {
  readonly coll: Collection<CaseDocument>;
  readonly log: Collection<CaseRecord>;
  readonly claims: Collection<TimerClaim>;
  readonly timers: Collection<TimerDocument>;
  readonly parked: Collection<ParkedRemoval>;

  /**
   * `afterWrite` wakes the outbox relay for a record just inserted with events, naming it and
   * handing over its entries: without a hint the relay's next pass would scan all of `case_log`
   * (on FerretDB every document read and decoded) after every change.
   */
  constructor(db: Db, private readonly toOutbox: ToOutbox, private readonly afterWrite: (hint: OutboxHint) => void = () => undefined) {
    this.coll = db.collection<CaseDocument>(CASES);
    this.log = db.collection<CaseRecord>(CASE_LOG);
    this.claims = db.collection<TimerClaim>(TIMER_CLAIMS);
    this.timers = db.collection<TimerDocument>(TIMERS);
    this.parked = db.collection<ParkedRemoval>(PARKED_REMOVALS);
  }

  /**
   * Keeps a removal report that names no case enforcement has seen yet: it comes on its own topic,
   * and after a restart with a backlog it can be read before the report or notice that opens the
   * case. Dropping it let the case escalate content already gone. Once per event id.
   */
  async park(eventId: string, report: RemovalsReportedData, at: Date): Promise<void> {
    try {
      await this.parked.insertOne({ _id: eventId, report, parkedAt: at });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  /** Kept removal reports that may name this case (by id, content key, report or URL). */
  async parkedFor(c: { caseId: string; caseKey: string; reportId: string; url: string }): Promise<ParkedRemoval[]> {
    return this.parked
      .find({ $or: [{ 'report.caseId': c.caseId }, { 'report.caseKey': c.caseKey }, { 'report.reportId': c.reportId }, { 'report.url': c.url }] })
      .limit(100)
      .toArray();
  }

  async unpark(eventId: string): Promise<void> {
    await this.parked.deleteOne({ _id: eventId });
  }

  /**
   * Retention of kept removal reports: one parked at or before `cutoff` names a case enforcement
   * has not seen for the whole retention period; it holds a URL and goes. Returns how many.
   */
  async dropParkedBefore(cutoff: Date): Promise<number> {
    const r = await this.parked.deleteMany({ parkedAt: { $lte: cutoff } });
    return r.deletedCount;
  }

  /** The latest record of a case: from the view's sequence number, then forward while newer ones exist. */
  async latest(caseId: string): Promise<CaseRecord | undefined> {
    return (await this.#latest(caseId)).rec;
  }

  /** The latest record, and whether the view trailed it (its writer may have died before the view). */
  async #latest(caseId: string): Promise<{ rec: CaseRecord | undefined; viewTrailed: boolean }> {
    const view = await this.coll.findOne({ _id: caseId }, { projection: { seq: 1 } });
    let seq = view?.seq ?? 0;
    let rec = seq > 0 ? await this.log.findOne({ _id: recordId(caseId, seq) }) : null;
    let viewTrailed = false;
    for (;;) {
      const next = await this.log.findOne({ _id: recordId(caseId, seq + 1) });
      if (!next) break;
      rec = next;
      seq += 1;
      viewTrailed = true;
    }
    return { rec: rec ?? undefined, viewTrailed };
  }

  /** The current state, read from the log (authoritative). */
  async get(id: string): Promise<CaseState | undefined> {
    const rec = await this.latest(id);
    return rec ? stateOf(id, rec.state) : undefined;
  }

  /** Cases from the view (may trail the log by a write in flight). */
  async find(filter: Filter<CaseDocument>, limit = 1000): Promise<CaseState[]> {
    const docs = await this.coll.find(filter).limit(limit).toArray();
    return docs.map((d) => stateOf(d._id, d));
  }

  /** The current state with its record's sequence number and evidence head. */
  async current(id: string): Promise<{ state: CaseState; seq: number; evidenceHead: ChainHead | null } | undefined> {
    const rec = await this.latest(id);
    return rec ? { state: stateOf(id, rec.state), seq: rec.seq, evidenceHead: rec.evidenceHead ?? null } : undefined;
  }

  /**
   * The evidence of a case as the log holds it, with what else claims to know its end: the
   * record numbers read, and the view's latest record and head (a second copy, written after each
   * record). The caller verifies before serving (routes/staff.ts).
   */
  async evidence(id: string): Promise<EvidenceRead | undefined> {
    // The view first: it is written only after its record, so the records read next hold
    // everything it names, even with a write in flight between the two reads.
    const view = await this.coll.findOne({ _id: id }, { projection: { seq: 1, evidenceHead: 1 } });
    const recs = await this.log.find({ caseId: id }, { projection: { evidence: 1, evidenceHead: 1, seq: 1 } }).sort({ seq: 1 }).toArray();
    if (recs.length === 0 && !view) return undefined;
    return {
      entries: recs.flatMap((r) => r.evidence ?? []),
      head: recs[recs.length - 1]?.evidenceHead ?? null,
      recordSeqs: recs.map((r) => r.seq),
      view: view ? { seq: view.seq, evidenceHead: view.evidenceHead ?? null } : null,
    };
  }

  /**
   * Reads the latest state, lets `decide` choose, and appends the change as record `seq + 1`.
   * A concurrent change of the same case makes the insert fail; the decision is then made again
   * on the newer state.
   */
  async apply(id: string, decide: (state: CaseState | undefined) => Promise<Decision> | Decision, options: { now: Date; input: string; around?: WriteAround }): Promise<ApplyResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { rec: latest, viewTrailed } = await this.#latest(id);
      const before = latest ? stateOf(id, latest.state) : undefined;
      const decision = await decide(before);
      if (decision.kind !== 'changed') {
        // A redelivery of the input whose writer died after its record but before the view and
        // timer: the log has the change, so nothing is decided, but without this refresh the view
        // would stay behind and the case's timer would never be written (its deadline never fire).
        if (viewTrailed && latest) await this.refreshView(id, latest);
        return { decision, state: before, appended: [], seq: latest?.seq ?? 0 };
      }
      const write = (): Promise<ApplyResult | undefined> => this.#write(id, latest, decision, options.now, options.input);
      const res = options.around ? await options.around(decision, write) : await write();
      if (res) return res;
    }
    throw new HashCheckError(ErrorCode.CONFLICT, `case ${id} kept changing during ${MAX_ATTEMPTS} attempts to update it`, { retriable: true });
  }

  /** Appends the record of one decided change; undefined when another writer took its `seq` first. */
  async #write(id: string, latest: CaseRecord | undefined, decision: ChangedDecision, at: Date, input: string): Promise<ApplyResult | undefined> {
    const head = latest?.evidenceHead ?? undefined;
    const appended = appendEntries(head, decision.evidence.map((e) => ({ at, kind: e.kind, data: e.data })));
    const last = appended[appended.length - 1];
    // The head after this record, computed before the insert so the record's events carry it.
    const evidenceHead = last ? { seq: last.seq, hash: last.hash } : head ?? null;
    const record: CaseRecord = {
      _id: recordId(id, (latest?.seq ?? 0) + 1),
      caseId: id,
      seq: (latest?.seq ?? 0) + 1,
      at,
      input,
      state: stored(decision.state),
      evidence: appended,
      evidenceHead,
      outbox: this.toOutbox(decision.state, decision.effects, at, evidenceHead),
      trace: currentCarrier(),
    };
    await this.#wakeUpBy(id, latest, decision.state.dueAt);
    try {
      await this.log.insertOne(record);
    } catch (err) {
      if (isDuplicateKeyError(err)) return undefined;
      throw err;
    }
    if (record.outbox && record.outbox.length > 0) this.afterWrite({ collection: CASE_LOG, id: record._id, entries: record.outbox });
    await this.refreshView(id, record);
    return { decision, state: decision.state, appended, seq: record.seq };
  }

  /**
   * Writes the view and the timer entry from `from` (or the latest record), then checks whether
   * a newer record appeared meanwhile and writes again if so: a slower writer can overwrite a
   * newer view, but it always looks again after its own write, so both end at the latest record.
   */
  /** The trace context the case's record `seq` was written under (for span links). */
  async traceOf(caseId: string, seq: number): Promise<Record<string, string> | undefined> {
    const rec = await this.log.findOne({ _id: recordId(caseId, seq) }, { projection: { trace: 1 } });
    return rec?.trace;
  }

  async refreshView(id: string, from?: CaseRecord): Promise<void> {
    let rec = from ?? (await this.latest(id));
    for (let i = 0; rec && i < 10; i++) {
      const doc: CaseDocument = { _id: id, ...rec.state, seq: rec.seq, evidenceHead: rec.evidenceHead, ...(rec.anonymisedAt ? { anonymisedAt: rec.anonymisedAt } : {}) };
      try {
        // The timer before the view: a writer that dies between the two leaves the view behind
        // the log, which the next reader of the case notices (`#latest`) and repairs. The other
        // way round, a current view with a missing timer would look finished to everyone.
        await this.#moveTimer(id, rec.seq, rec.state.dueAt);
        await this.coll.replaceOne({ _id: id }, doc, { upsert: true });
      } catch (err) {
        // Two upserts creating a document at once: the loser writes again over the winner.
        if (!isDuplicateKeyError(err)) throw err;
        continue;
      }
      const newer = await this.log.findOne({ _id: recordId(id, rec.seq + 1) });
      if (!newer) return;
      rec = (await this.latest(id)) ?? newer;
    }
  }

  /**
   * Before a record that brings the case's due time forward is written, the timer is brought
   * forward too (still naming the current record). A writer that dies after the record but before
   * its timer, with nothing redelivered (an officer's decision over HTTP), would otherwise leave
   * the new deadline without a timer. Firing early is harmless: the timer-fired decision reads the
   * log, finds nothing due yet, and the refresh that follows sets the timer right.
   */
  async #wakeUpBy(id: string, latest: CaseRecord | undefined, dueAt: Date | null): Promise<void> {
    const current = latest?.state.dueAt ?? null;
    if (!dueAt || (current && current.getTime() <= dueAt.getTime())) return;
    await this.#moveTimer(id, latest?.seq ?? 0, dueAt);
  }

  /**
   * Sets the timer to record `seq`'s due time, never back to an older record: a writer slower
   * than a newer one must not delete or overwrite the newer record's timer, for it may die before
   * it looks for newer records again.
   */
  async #moveTimer(id: string, seq: number, dueAt: Date | null | undefined): Promise<void> {
    if (!dueAt) {
      await this.timers.deleteOne({ _id: id, seq: { $lte: seq } });
      return;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.timers.replaceOne({ _id: id, seq: { $lte: seq } }, { seq, dueAt }, { upsert: true });
        return;
      } catch (err) {
        // The timer exists but did not match: a newer record's (leave it), or one another writer
        // created at this moment (look again).
        if (!isDuplicateKeyError(err)) throw err;
        const existing = await this.timers.findOne({ _id: id }, { projection: { seq: 1 } });
        if (existing && existing.seq >= seq) return;
      }
    }
  }

  /** Cases whose timer is due, earliest first. */
  async dueCases(now: Date, limit: number): Promise<Array<{ id: string; seq: number; dueAt: Date }>> {
    const docs = await this.timers.find({ dueAt: { $lte: now } }).sort({ dueAt: 1 }).limit(limit).toArray();
    return docs.map((d) => ({ id: d._id, seq: d.seq, dueAt: d.dueAt }));
  }

  /**
   * Reserves the timer of record `seq` for `owner` for `leaseMs` of real time, by inserting a
   * claim with a unique id: of several instances only one succeeds. A claim whose lease has run
   * out (its holder crashed) is superseded by a claim with the next attempt number.
   */
  async claimTimer(caseId: string, seq: number, owner: string, leaseMs: number): Promise<number | undefined> {
    const real = Date.now();
    let attempt = 1;
    for (;; attempt++) {
      const existing = await this.claims.findOne({ _id: claimId(caseId, seq, attempt) });
      if (!existing) break;
      if (existing.leaseUntil.getTime() > real) return undefined;
    }
    try {
      await this.claims.insertOne({ _id: claimId(caseId, seq, attempt), caseId, seq, attempt, owner, claimedAt: new Date(real), leaseUntil: new Date(real + leaseMs) });
      return attempt;
    } catch (err) {
      if (isDuplicateKeyError(err)) return undefined;
      throw err;
    }
  }

  /**
   * Erases URLs, hosts and IP addresses of cases closed before `cutoff`: in every record's state
   * and, by redaction, in the evidence, which keeps every entry hash and so the chain intact.
   */
  async anonymiseClosedBefore(cutoff: Date, now: Date, batch = 100): Promise<number> {
    let done = 0;
    const seen = new Set<string>();
    for (;;) {
      const docs = await this.coll
        .find({ status: 'closed', closedAt: { $lte: cutoff }, anonymisedAt: null } as Filter<CaseDocument>, { projection: { _id: 1 } })
        .limit(batch)
        .toArray();
      const fresh = docs.filter((d) => !seen.has(d._id));
      if (fresh.length === 0) return done;
      for (const { _id: id } of fresh) {
        seen.add(id);
        const records = await this.log.find({ caseId: id }).sort({ seq: 1 }).toArray();
        for (const r of records) {
          await this.log.updateOne(
            { _id: r._id },
            { $set: { 'state.url': null, 'state.host': null, 'state.ip': null, evidence: (r.evidence ?? []).map(redactEntry), anonymisedAt: now } },
          );
        }
        await this.refreshView(id);
        done += 1;
      }
      if (docs.length < batch) return done;
    }
  }
}
