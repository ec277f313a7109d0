import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Filter } from 'mongodb';
import { Attr, CachedObservations, counter, gauge, hashcheckMeter, lazyInstruments, Metric, type Observation, type ObservableGauge } from '@hashcheck/telemetry';
import type { Clock } from './domain/clock';
import { CaseStatus, Outcome, type CaseState } from './domain/case';
import { CaseStore, type ApplyResult, type CaseDocument } from './store/cases';

const instruments = lazyInstruments((m) => ({
  deadlines: counter(m, Metric.CASE_DEADLINES),
  escalations: counter(m, Metric.CASE_ESCALATIONS),
  closed: counter(m, Metric.CASES_CLOSED),
}));

/** The first notice's deadline is reported as step `notice`; ladder steps by their configured name. */
const FIRST_NOTICE = 'notice';

function stepName(s: CaseState, index: number): string {
  if (index < 0) return FIRST_NOTICE;
  return s.steps.find((x) => x.index === index)?.name ?? `step-${index}`;
}

/**
 * Counts what one written change of a case did, from the decision that was written (a change
 * is written once, however many instances decided it): deadlines the timer found passed,
 * escalation steps issued or proposed, closings. A deadline is met when the content is removed
 * before the deadline running at that moment (the first notice's, pauses counted, or the current
 * step's).
 */
export function recordCaseChange(res: ApplyResult): void {
  const d = res.decision;
  if (d.kind !== 'changed') return;
  const i = instruments();
  const s = d.state;
  for (const e of d.evidence) {
    const step = (e.data as { step?: unknown } | null)?.step;
    if (e.kind === 'deadline.missed') i.deadlines.add(1, { [Attr.STEP]: typeof step === 'string' ? step : 'unknown', [Attr.OUTCOME]: 'missed' });
    else if (e.kind === 'escalation.proposed') i.escalations.add(1, { [Attr.STEP]: typeof step === 'string' ? step : 'unknown', [Attr.OUTCOME]: 'proposed' });
  }
  for (const e of d.effects) {
    if (e.type === 'escalated') i.escalations.add(1, { [Attr.STEP]: e.step, [Attr.OUTCOME]: 'issued' });
    if (e.type !== 'closed') continue;
    i.closed.add(1, { [Attr.OUTCOME]: e.outcome });
    if (e.outcome !== Outcome.REMOVED || !s.removedAt) continue;
    const met = s.stepIndex < 0 ? s.withinDeadline === true : s.deadlineAt !== null && s.removedAt <= s.deadlineAt;
    if (met) i.deadlines.add(1, { [Attr.STEP]: stepName(s, s.stepIndex), [Attr.OUTCOME]: 'met' });
  }
}

/** The case store, counting every change it writes (the one path every case change takes). */
export class MeasuredCaseStore extends CaseStore {
  override async apply(...args: Parameters<CaseStore['apply']>): Promise<ApplyResult> {
    const res = await super.apply(...args);
    recordCaseChange(res);
    return res;
  }
}

const OPEN_STATUSES = [CaseStatus.PENDING, CaseStatus.OPEN, CaseStatus.DISPUTED, CaseStatus.AWAITING_OFFICER] as const;

/**
 * The open-case and overdue-timer gauges. Counting cases is a scan of the view on FerretDB, so it
 * runs only when metrics are collected, at most once per `refreshMs`, in the background
 * (CachedObservations): one `$group` by status for all statuses, and a count of due timers (a
 * small collection). Every instance reports the same database-wide numbers: aggregate with max.
 */
export const enforcementMetricsPlugin = fp(
  async (app: FastifyInstance, opts: { cases: CaseStore; clock: Clock; refreshMs: number }) => {
    const meter = hashcheckMeter();
    const open = gauge(meter, Metric.CASES_OPEN);
    const overdue = gauge(meter, Metric.TIMERS_OVERDUE);
    const load = async (): Promise<Map<ObservableGauge, Observation[]>> => {
      const rows = await opts.cases.coll
        .aggregate<{ _id: string; n: number }>([{ $match: { status: { $in: [...OPEN_STATUSES] } } as Filter<CaseDocument> }, { $group: { _id: '$status', n: { $sum: 1 } } }])
        .toArray();
      const byStatus = new Map(rows.map((r) => [r._id, r.n]));
      const due = await opts.cases.timers.countDocuments({ dueAt: { $lte: opts.clock.now() } });
      return new Map<ObservableGauge, Observation[]>([
        [open, OPEN_STATUSES.map((st) => ({ value: byStatus.get(st) ?? 0, attributes: { [Attr.CASE_STATUS]: st } }))],
        [overdue, [{ value: due, attributes: {} }]],
      ]);
    };
    const cached = new CachedObservations(load, opts.refreshMs, (err) => app.log.warn({ err }, 'case metrics not refreshed; will retry at the next collection'));
    cached.observe(meter, [open, overdue]);
    // preClose: before the database client closes (a refresh may be in flight).
    app.addHook('preClose', async () => cached.close());
  },
  { name: 'enforcement-metrics' },
);
