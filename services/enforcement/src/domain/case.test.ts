import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRedactable } from '@hashcheck/evidence';
import { ManualClock } from './clock';
import { accruedPenalty, CaseStatus, decide, DisputeDecision, OfficerDecision, Outcome, type CaseContext, type CaseInput, type CaseState, type Decision } from './case';
import { DEFAULT_LADDER, buildLadder, parseLadderSteps } from './ladder';
import { DeadlineSource, type AppliedDeadline } from './policy';

const H = 3_600_000;
const DAY = 24 * H;
const CASE_KEY = 'a'.repeat(64);
const CASE_ID = `${CASE_KEY}.1`;
const DEFAULT_POLICY: AppliedDeadline = { ms: DAY, source: DeadlineSource.DEFAULT };

/** Drives one case through inputs the way the store does: state in, state out. */
class Harness {
  state: CaseState | undefined;
  readonly evidence: { kind: string; data: unknown }[] = [];
  readonly effects: Extract<Decision, { kind: 'changed' }>['effects'] = [];
  constructor(readonly clock = new ManualClock(Date.UTC(2025, 2, 3, 9)), public policy: AppliedDeadline = DEFAULT_POLICY, readonly ladder = DEFAULT_LADDER) {}
  ctx(): CaseContext {
    return { now: this.clock.now(), ladder: this.ladder, policy: this.policy };
  }
  apply(input: CaseInput): Decision {
    const d = decide(this.state, input, this.ctx(), { id: CASE_ID, caseKey: CASE_KEY });
    if (d.kind === 'changed') {
      this.state = d.state;
      this.evidence.push(...d.evidence);
      this.effects.push(...d.effects);
    }
    return d;
  }
  get s(): CaseState {
    assert.ok(this.state);
    return this.state;
  }
  kinds(): string[] {
    return this.evidence.map((e) => e.kind);
  }
  /** Moves time to the timer and fires it, as the poller would. */
  fire(): Decision {
    assert.ok(this.s.dueAt, `case has no timer (status ${this.s.status})`);
    if (this.s.dueAt > this.clock.now()) this.clock.set(this.s.dueAt);
    return this.apply({ type: 'timer-fired' });
  }
}

function matched(h: Harness, extra: Partial<Extract<CaseInput, { type: 'report-matched' }>> = {}): Decision {
  return h.apply({
    type: 'report-matched', eventId: 'ev-match', caseKey: CASE_KEY, reportId: 'r-1', providerId: 'acme-hosting',
    url: 'https://files.example/x.jpg', host: 'files.example', ip: '192.0.2.7', hashes: ['sha256:' + 'b'.repeat(64), 'md5:' + 'c'.repeat(32)],
    matches: [{ listId: 'police', listName: 'Police', category: 'csam', hashType: 'sha256', distance: 0 }],
    receivedAt: h.clock.now().toISOString(), checkedAt: h.clock.now().toISOString(), ...extra,
  });
}

function sent(h: Harness, extra: Partial<Extract<CaseInput, { type: 'notice-sent' }>> = {}): Decision {
  const now = h.clock.now();
  return h.apply({
    type: 'notice-sent', eventId: `ev-notice-${extra.noticeId ?? 'n-1'}`, noticeId: 'n-1', providerId: 'acme-hosting', caseKey: CASE_KEY, reportId: 'r-1',
    url: 'https://files.example/x.jpg', channel: 'webhook', contact: 'https://acme.example/abuse', sentAt: now,
    noticeDeadlineAt: new Date(now.getTime() + DAY), deliveryProof: { status: 'delivered' }, ...extra,
  });
}

test('a notice starts the clock with the deadline it carries', () => {
  const h = new Harness();
  matched(h);
  assert.equal(h.s.status, CaseStatus.PENDING);
  assert.equal(h.s.dueAt, null, 'no clock before a notice');
  const t0 = h.clock.now();
  sent(h);
  assert.equal(h.s.status, CaseStatus.OPEN);
  assert.deepEqual(h.s.clockStartedAt, t0);
  assert.deepEqual(h.s.deadlineAt, new Date(t0.getTime() + DAY));
  assert.deepEqual(h.s.dueAt, h.s.deadlineAt);
  assert.deepEqual(h.kinds(), ['case.opened', 'report.matched', 'notice.sent', 'clock.started']);
});

test('a regulator order stricter than the notice binds the provider', () => {
  const h = new Harness(undefined, { ms: H, source: DeadlineSource.ORDER, reference: 'ACM/2025/17' });
  const t0 = h.clock.now();
  sent(h);
  assert.deepEqual(h.s.deadlineAt, new Date(t0.getTime() + H));
  const started = h.evidence.find((e) => e.kind === 'clock.started')!.data as { decidedBy: string; policy: { reference: string } };
  assert.equal(started.decidedBy, DeadlineSource.ORDER);
  assert.equal(started.policy.reference, 'ACM/2025/17');
});

test('the notice may arrive before the match: the case is created by whichever comes first', () => {
  const h = new Harness();
  sent(h);
  assert.equal(h.s.status, CaseStatus.OPEN);
  matched(h);
  assert.equal(h.s.status, CaseStatus.OPEN);
  assert.deepEqual(h.s.hashes.length, 2);
  assert.equal(h.s.ip, '192.0.2.7');
});

test('a redelivered event changes nothing', () => {
  const h = new Harness();
  matched(h);
  sent(h);
  assert.equal(sent(h).kind, 'unchanged');
  assert.equal(matched(h).kind, 'unchanged');
  assert.equal(h.s.notices.length, 1);
});

test('an unconfirmed notice climbs every step of the ladder, officers deciding where required', () => {
  const h = new Harness();
  matched(h);
  sent(h);
  assert.equal(h.apply({ type: 'timer-fired' }).kind, 'unchanged', 'nothing before the deadline');

  // 1. re-notice, by the system, via notices.requested.
  h.fire();
  assert.equal(h.s.stepIndex, 0);
  const req = h.effects.find((e) => e.type === 'notice-requested');
  assert.ok(req && req.type === 'notice-requested');
  assert.equal(req.reason, 'deadline-passed');
  assert.equal(req.attempt, 2);
  assert.equal(req.requestId, `${CASE_ID}:step-0`);
  assert.deepEqual(req.deadlineAt, new Date(h.clock.now().getTime() + DAY));
  assert.equal(req.item?.url, 'https://files.example/x.jpg');

  // 2. reminder, by the system.
  h.fire();
  assert.equal(h.s.stepIndex, 1);
  assert.equal(h.effects.filter((e) => e.type === 'notice-requested').length, 2);

  // 3. binding instruction waits for an officer; no timer meanwhile.
  h.fire();
  assert.equal(h.s.status, CaseStatus.AWAITING_OFFICER);
  assert.equal(h.s.pending?.name, 'binding-instruction');
  assert.equal(h.s.dueAt, null);
  h.clock.advance(3 * H);
  h.apply({ type: 'officer-decision', stepIndex: 2, decision: OfficerDecision.ISSUE, officer: 'officer-7' });
  assert.equal(h.s.status, CaseStatus.OPEN);
  assert.deepEqual(h.s.deadlineAt, new Date(h.clock.now().getTime() + DAY));

  // 4. order subject to a penalty, dated at the officer's decision.
  h.fire();
  assert.equal(h.s.pending?.name, 'penalty-order');
  h.apply({ type: 'officer-decision', stepIndex: 3, decision: OfficerDecision.ISSUE, officer: 'officer-7' });
  const orderDate = h.clock.now();
  assert.deepEqual(h.s.penalty?.orderDate, orderDate);
  // 50 000 cap at 5 000 a day: the order runs 10 days.
  assert.deepEqual(h.s.deadlineAt, new Date(orderDate.getTime() + 10 * DAY));

  // 5. fine proposal.
  h.fire();
  assert.equal(h.s.pending?.name, 'fine-proposal');
  h.apply({ type: 'officer-decision', stepIndex: 4, decision: OfficerDecision.ISSUE, officer: 'officer-9' });
  h.fire();
  assert.equal(h.s.dueAt, null, 'the ladder is exhausted');
  assert.equal(h.s.status, CaseStatus.OPEN, 'still open until the content is gone');

  const escalated = h.effects.filter((e) => e.type === 'escalated');
  assert.deepEqual(escalated.map((e) => e.type === 'escalated' && e.step), ['renotice', 'reminder', 'binding-instruction', 'penalty-order', 'fine-proposal']);
  assert.deepEqual(escalated.map((e) => e.type === 'escalated' && e.decidedBy), ['system', 'system', 'officer-7', 'officer-7', 'officer-9']);
  const penalty = escalated[3];
  assert.ok(penalty?.type === 'escalated');
  assert.deepEqual(penalty.penalty, { amountEur: 5000, periodSeconds: 86_400, capEur: 50_000 });
  assert.equal(escalated[4]?.type === 'escalated' && escalated[4].fineEur, 100_000);
  assert.equal(h.kinds().filter((k) => k === 'deadline.missed').length, 6);
  assert.equal(h.kinds().at(-1), 'ladder.exhausted');

  // Removal at last: accrued penalty is capped and recorded.
  h.clock.advance(H);
  h.apply({ type: 'removal', source: 'provider', removedAt: h.clock.now(), by: 'acme-hosting' });
  const closed = h.evidence.at(-1)!.data as { penaltyAccrued: { amountEur: number; capped: boolean } };
  assert.deepEqual({ amountEur: closed.penaltyAccrued.amountEur, capped: closed.penaltyAccrued.capped }, { amountEur: 50_000, capped: true });
});

test('a confirmation closes the case with the time from the first notice', () => {
  const h = new Harness();
  matched(h);
  const t0 = h.clock.now();
  sent(h);
  h.clock.advance(5 * H + 30 * 60_000);
  const d = h.apply({ type: 'removal', source: 'provider', removedAt: h.clock.now(), by: 'acme-hosting', noticeId: 'n-1' });
  assert.equal(d.kind, 'changed');
  assert.equal(h.s.status, CaseStatus.CLOSED);
  assert.equal(h.s.outcome, Outcome.REMOVED);
  assert.equal(h.s.timeToRemovalMs, h.clock.now().getTime() - t0.getTime());
  assert.equal(h.s.timeToRemovalMs, 5.5 * H);
  assert.equal(h.s.withinDeadline, true);
  assert.equal(h.s.dueAt, null);
  const closed = h.effects.find((e) => e.type === 'closed');
  assert.ok(closed?.type === 'closed');
  assert.equal(closed.timeToRemovalMs, 5.5 * H);
  assert.deepEqual(closed.reportIds, ['r-1']);
  assert.equal(h.apply({ type: 'removal', source: 'observer', removedAt: h.clock.now(), by: 'partner' }).kind, 'unchanged');
});

test('a removal after the deadline is late; a claimed future time is clamped to now', () => {
  const h = new Harness();
  sent(h);
  h.fire();
  h.clock.advance(H);
  h.apply({ type: 'removal', source: 'provider', removedAt: new Date(h.clock.now().getTime() + DAY), by: 'acme-hosting' });
  assert.equal(h.s.withinDeadline, false);
  assert.deepEqual(h.s.removedAt, h.clock.now());
  assert.equal(h.s.timeToRemovalMs, 25 * H);
});

test('a dispute pauses the clock and a rejected dispute resumes it with the paused time added', () => {
  const h = new Harness();
  matched(h);
  const t0 = h.clock.now();
  sent(h);
  h.clock.advance(20 * H);
  h.apply({ type: 'dispute-opened', disputeId: 'd-1', noticeId: 'n-1', reason: 'this is a medical image', by: 'acme-hosting' });
  assert.equal(h.s.status, CaseStatus.DISPUTED);
  assert.equal(h.s.dueAt, null, 'no timer while paused');
  assert.equal(h.apply({ type: 'dispute-opened', disputeId: 'd-2', noticeId: 'n-1', reason: 'again', by: 'acme-hosting' }).kind, 'refused');

  h.clock.advance(10 * H); // past the original deadline, but paused
  assert.equal(h.apply({ type: 'timer-fired' }).kind, 'unchanged');
  h.apply({ type: 'dispute-decided', disputeId: 'd-1', decision: DisputeDecision.REJECTED, by: 'analyst-3' });
  assert.equal(h.s.status, CaseStatus.OPEN);
  assert.equal(h.s.pausedMs, 10 * H);
  assert.deepEqual(h.s.deadlineAt, new Date(t0.getTime() + 34 * H));
  assert.deepEqual(h.s.dueAt, h.s.deadlineAt);
  assert.deepEqual(h.s.initialDeadlineAt, new Date(t0.getTime() + 34 * H));

  h.clock.advance(3 * H); // 33 h wall time, 23 h on the clock
  h.apply({ type: 'removal', source: 'provider', removedAt: h.clock.now(), by: 'acme-hosting' });
  assert.equal(h.s.withinDeadline, true);
  assert.equal(h.s.timeToRemovalMs, 33 * H, 'time to removal is wall time');
  assert.deepEqual(h.kinds().filter((k) => k.startsWith('clock.') || k.startsWith('dispute.')), ['clock.started', 'dispute.opened', 'clock.paused', 'dispute.decided', 'clock.resumed']);
});

test('a removal during a dispute that began before the deadline counts the pause', () => {
  const h = new Harness();
  sent(h);
  h.clock.advance(23 * H);
  h.apply({ type: 'dispute-opened', disputeId: 'd-1', noticeId: 'n-1', reason: 'r', by: 'acme-hosting' });
  h.clock.advance(5 * H);
  h.apply({ type: 'removal', source: 'provider', removedAt: h.clock.now(), by: 'acme-hosting' });
  assert.equal(h.s.withinDeadline, true);
});

test('a dispute upheld as a false positive asks for retraction of each matched hash and closes the case', () => {
  const h = new Harness();
  matched(h);
  sent(h);
  h.apply({ type: 'dispute-opened', disputeId: 'd-1', noticeId: 'n-1', reason: 'not illegal', by: 'acme-hosting' });
  h.apply({ type: 'dispute-decided', disputeId: 'd-1', decision: DisputeDecision.FALSE_POSITIVE, by: 'analyst-3' });
  assert.equal(h.s.outcome, Outcome.FALSE_POSITIVE);
  const retractions = h.effects.filter((e) => e.type === 'retraction-requested');
  assert.deepEqual(retractions.map((e) => e.type === 'retraction-requested' && `${e.hashType}:${e.hash}`).sort(), [...h.s.hashes].sort());
  const closed = h.effects.find((e) => e.type === 'closed');
  assert.ok(closed?.type === 'closed');
  assert.equal(closed.outcome, Outcome.FALSE_POSITIVE);
  assert.equal(closed.timeToRemovalMs, null);
  assert.equal(h.apply({ type: 'dispute-decided', disputeId: 'd-1', decision: DisputeDecision.FALSE_POSITIVE, by: 'analyst-3' }).kind, 'unchanged');
  assert.equal(h.apply({ type: 'dispute-decided', disputeId: 'd-1', decision: DisputeDecision.REJECTED, by: 'analyst-3' }).kind, 'refused');
});

test('the false-positive sweep closes open cases and leaves closed ones alone', () => {
  const h = new Harness();
  sent(h);
  assert.equal(h.apply({ type: 'false-positive-sweep', hash: 'sha256:x', requestId: 'd-9:sha256', sourceCaseId: 'other.1' }).kind, 'changed');
  assert.equal(h.s.outcome, Outcome.FALSE_POSITIVE);
  assert.equal(h.apply({ type: 'false-positive-sweep', hash: 'sha256:x', requestId: 'd-9:sha256', sourceCaseId: 'other.1' }).kind, 'unchanged');
});

test('a re-upload starts further up the ladder', () => {
  const h = new Harness();
  matched(h, { reuploadOf: { caseId: 'old.1', hash: 'sha256:' + 'b'.repeat(64) } });
  assert.equal(h.s.reupload, true);
  sent(h);
  h.fire();
  assert.equal(h.s.status, CaseStatus.AWAITING_OFFICER);
  assert.equal(h.s.pending?.name, 'binding-instruction', 'skips re-notice and reminder');
  assert.equal(h.effects.filter((e) => e.type === 'notice-requested').length, 0);
});

test('officer decisions: only for the pending step; skip moves on; defer re-proposes later', () => {
  const steps = parseLadderSteps(JSON.stringify([
    { name: 'binding-instruction', requiresOfficer: true, deadline: '24h' },
    { name: 'reminder', notify: true, deadline: '12h' },
  ]));
  const h = new Harness(undefined, DEFAULT_POLICY, buildLadder(steps, 'binding-instruction'));
  sent(h);
  h.fire();
  assert.equal(h.apply({ type: 'officer-decision', stepIndex: 1, decision: OfficerDecision.ISSUE, officer: 'o' }).kind, 'refused');
  assert.equal(h.apply({ type: 'officer-decision', stepIndex: 0, decision: OfficerDecision.DEFER, officer: 'o' }).kind, 'refused', 'defer needs until');
  const until = new Date(h.clock.now().getTime() + 2 * H);
  h.apply({ type: 'officer-decision', stepIndex: 0, decision: OfficerDecision.DEFER, until, officer: 'o' });
  assert.deepEqual(h.s.dueAt, until);
  h.fire();
  assert.equal(h.s.pending?.index, 0, 'proposed again');
  h.apply({ type: 'officer-decision', stepIndex: 0, decision: OfficerDecision.SKIP, officer: 'o' });
  assert.equal(h.s.stepIndex, 1, 'skipped straight to the reminder, which needs no officer');
  assert.equal(h.effects.filter((e) => e.type === 'escalated').map((e) => e.type === 'escalated' && e.step).join(), 'reminder');
});

test('delivery of a re-notice that states a later deadline moves the deadline to it', () => {
  const h = new Harness();
  sent(h);
  h.fire();
  const requested = h.s.deadlineAt!;
  h.clock.advance(2 * H);
  sent(h, { noticeId: 'n-2', requestId: `${CASE_ID}:step-0`, attempt: 2, noticeDeadlineAt: new Date(h.clock.now().getTime() + DAY) });
  assert.deepEqual(h.s.deadlineAt, new Date(requested.getTime() + 2 * H));
  assert.deepEqual(h.s.dueAt, h.s.deadlineAt);
  assert.equal(h.s.notices.length, 2);
});

test('disputes need a delivered notice and an open case', () => {
  const h = new Harness();
  matched(h);
  assert.equal(h.apply({ type: 'dispute-opened', disputeId: 'd', noticeId: null, reason: 'x', by: 'p' }).kind, 'refused');
  sent(h);
  h.apply({ type: 'removal', source: 'provider', removedAt: h.clock.now(), by: 'p' });
  const d = h.apply({ type: 'dispute-opened', disputeId: 'd', noticeId: 'n-1', reason: 'x', by: 'p' });
  assert.equal(d.kind, 'refused');
  assert.equal(d.kind === 'refused' && d.code, 'conflict');
});

test('inputs other than a match or a notice do not create cases', () => {
  const d = decide(undefined, { type: 'timer-fired' }, { now: new Date(), ladder: DEFAULT_LADDER, policy: DEFAULT_POLICY }, { id: 'x.1', caseKey: CASE_KEY });
  assert.equal(d.kind, 'refused');
});

test('personal data in evidence is redactable', () => {
  const h = new Harness();
  matched(h);
  const data = h.evidence[1]!.data as Record<string, unknown>;
  assert.ok(typeof data.url === 'object' && data.url !== null && '@redactable' in data.url);
  assert.ok(typeof data.ip === 'object' && data.ip !== null && '@redactable' in data.ip);
});

function failed(h: Harness, extra: Partial<Extract<CaseInput, { type: 'notice-failed' }>> = {}): Decision {
  return h.apply({
    type: 'notice-failed', eventId: `ev-failed-${extra.noticeId ?? 'n-1'}`, noticeId: 'n-1', providerId: 'acme-hosting', caseKey: CASE_KEY, reportId: 'r-1',
    url: 'https://files.example/x.jpg', channel: 'email', contact: 'abuse@acme.example', reason: 'SMTP 550: no such user', failedAt: h.clock.now(), ...extra,
  });
}

test('an undeliverable first notice goes to a case officer, with the failure in the evidence', () => {
  const h = new Harness();
  matched(h);
  failed(h);
  assert.equal(h.s.status, CaseStatus.AWAITING_OFFICER, 'not pending for ever');
  assert.deepEqual(h.s.pending && { index: h.s.pending.index, name: h.s.pending.name }, { index: 0, name: 'renotice' });
  assert.equal(h.s.dueAt, null);
  assert.equal(h.s.clockStartedAt, null, 'nothing was delivered: no clock');
  assert.deepEqual(h.kinds(), ['case.opened', 'report.matched', 'notice.failed', 'escalation.proposed']);
  const entry = h.evidence[2]!.data as Record<string, unknown>;
  assert.equal(entry.noticeId, 'n-1');
  assert.equal(entry.channel, 'email');
  assert.equal(entry.undeliverable, true);
  for (const k of ['reason', 'contact', 'url']) assert.ok(typeof entry[k] === 'object' && entry[k] !== null && '@redactable' in (entry[k] as object), `${k} is redactable`);
  assert.equal((h.evidence[3]!.data as { reason: string }).reason, 'notice undeliverable');
  assert.equal(failed(h).kind, 'unchanged', 'a redelivered failure changes nothing');
  assert.equal(h.apply({ type: 'timer-fired' }).kind, 'unchanged');

  // The officer has a re-notice sent (e.g. once the provider's contact is fixed); its delivery starts the clock.
  h.clock.advance(2 * H);
  h.apply({ type: 'officer-decision', stepIndex: 0, decision: OfficerDecision.ISSUE, officer: 'officer-7' });
  const req = h.effects.find((e) => e.type === 'notice-requested');
  assert.ok(req?.type === 'notice-requested');
  assert.equal(req.requestId, `${CASE_ID}:step-0`);
  assert.equal(h.s.status, CaseStatus.OPEN);
  const t1 = h.clock.now();
  sent(h, { noticeId: 'n-2', requestId: `${CASE_ID}:step-0`, attempt: 2 });
  assert.deepEqual(h.s.clockStartedAt, t1);
});

test('a failure naming a case not seen yet opens it, waiting for an officer', () => {
  const h = new Harness();
  failed(h);
  assert.equal(h.s.status, CaseStatus.AWAITING_OFFICER);
  assert.equal(h.s.providerId, 'acme-hosting');
  assert.deepEqual(h.kinds().slice(0, 2), ['case.opened', 'notice.failed']);
  matched(h);
  assert.equal(h.s.status, CaseStatus.AWAITING_OFFICER);
  assert.equal(h.s.hashes.length, 2);
});

test('an undeliverable re-notice stops the ladder at an officer instead of escalating blind', () => {
  const h = new Harness();
  matched(h);
  sent(h);
  h.fire();
  assert.equal(h.s.stepIndex, 0, 're-notice requested');
  h.clock.advance(H);
  failed(h, { noticeId: 'n-2', reason: 'webhook 410; SMTP 550' });
  assert.equal(h.s.status, CaseStatus.AWAITING_OFFICER);
  assert.equal(h.s.pending?.name, 'reminder', 'the officer decides on the step that would follow');
  assert.equal(h.s.dueAt, null);
  h.clock.advance(3 * DAY);
  assert.equal(h.apply({ type: 'timer-fired' }).kind, 'unchanged', 'no escalation without the officer');
  assert.equal(h.effects.filter((e) => e.type === 'notice-requested').length, 1);
  assert.deepEqual(h.kinds().slice(-2), ['notice.failed', 'escalation.proposed']);
  h.apply({ type: 'officer-decision', stepIndex: 1, decision: OfficerDecision.ISSUE, officer: 'officer-7' });
  assert.equal(h.s.stepIndex, 1);
  assert.equal(h.effects.filter((e) => e.type === 'notice-requested').length, 2);
});

test('a failure the case does not wait on is evidence only', () => {
  // The first notice was delivered and nothing else was asked for.
  const h = new Harness();
  sent(h);
  const due = h.s.dueAt;
  failed(h, { noticeId: 'n-9' });
  assert.equal(h.s.status, CaseStatus.OPEN);
  assert.deepEqual(h.s.dueAt, due);
  assert.equal(h.kinds().at(-1), 'notice.failed');

  // The re-notice was delivered; a failure of another notice afterwards changes nothing.
  h.fire();
  sent(h, { noticeId: 'n-2', requestId: `${CASE_ID}:step-0`, attempt: 2, noticeDeadlineAt: h.s.deadlineAt! });
  failed(h, { noticeId: 'n-3' });
  assert.equal(h.s.status, CaseStatus.OPEN);
  assert.equal(h.kinds().at(-1), 'notice.failed');

  // A closed case records it and stays closed.
  h.apply({ type: 'removal', source: 'provider', removedAt: h.clock.now(), by: 'acme-hosting' });
  failed(h, { noticeId: 'n-4' });
  assert.equal(h.s.status, CaseStatus.CLOSED);
  assert.equal(h.kinds().at(-1), 'notice.failed');
});

test('a penalty accrues nothing while a dispute is still open, also when the content is removed before the decision', () => {
  const steps = parseLadderSteps(JSON.stringify([
    { name: 'penalty-order', requiresOfficer: true, penalty: { amountEur: 5000, period: '24h', capEur: 50_000, grace: '0s', partialPeriodCounts: true } },
  ]));
  const h = new Harness(undefined, DEFAULT_POLICY, buildLadder(steps, 'penalty-order'));
  sent(h);
  h.fire();
  h.apply({ type: 'officer-decision', stepIndex: 0, decision: OfficerDecision.ISSUE, officer: 'officer-7' });
  const orderDate = h.clock.now().getTime();
  h.clock.set(orderDate + DAY);
  h.apply({ type: 'dispute-opened', disputeId: 'd-1', noticeId: 'n-1', reason: 'r', by: 'acme-hosting' });
  h.clock.set(orderDate + 5 * DAY);
  assert.equal(accruedPenalty(h.s, h.clock.now())?.amountEur, 5000, 'one day before the dispute; none while it is open');
  h.apply({ type: 'removal', source: 'provider', removedAt: h.clock.now(), by: 'acme-hosting' });
  const closed = h.evidence.at(-1)!.data as { penaltyAccrued: { amountEur: number; periods: number } };
  assert.deepEqual({ amountEur: closed.penaltyAccrued.amountEur, periods: closed.penaltyAccrued.periods }, { amountEur: 5000, periods: 1 });
  assert.equal(accruedPenalty(h.s, new Date(orderDate + 30 * DAY))?.amountEur, 5000, 'the closed case shows the same amount');
});

/** A case under a penalty order (€5 000 a day, cap €50 000) issued at the returned time. */
function underPenaltyOrder(): { h: Harness; orderDate: number } {
  const steps = parseLadderSteps(JSON.stringify([
    { name: 'penalty-order', requiresOfficer: true, penalty: { amountEur: 5000, period: '24h', capEur: 50_000, grace: '0s', partialPeriodCounts: true } },
  ]));
  const h = new Harness(undefined, DEFAULT_POLICY, buildLadder(steps, 'penalty-order'));
  matched(h);
  sent(h);
  h.fire();
  h.apply({ type: 'officer-decision', stepIndex: 0, decision: OfficerDecision.ISSUE, officer: 'officer-7' });
  return { h, orderDate: h.clock.now().getTime() };
}

test('a penalty stops accruing when the case closes as a false positive, by the sweep or by a dispute', () => {
  const swept = underPenaltyOrder();
  swept.h.clock.set(swept.orderDate + 2 * DAY);
  swept.h.apply({ type: 'false-positive-sweep', hash: 'sha256:' + 'b'.repeat(64), requestId: 'd-9:sha256', sourceCaseId: null });
  assert.equal(swept.h.s.outcome, Outcome.FALSE_POSITIVE);
  assert.equal(accruedPenalty(swept.h.s, new Date(swept.orderDate + 2 * DAY))?.amountEur, 10_000);
  assert.deepEqual(accruedPenalty(swept.h.s, new Date(swept.orderDate + 30 * DAY)), { periods: 2, amountEur: 10_000, capped: false }, 'nothing after closedAt');

  const disputed = underPenaltyOrder();
  disputed.h.clock.set(disputed.orderDate + 2 * DAY);
  disputed.h.apply({ type: 'dispute-opened', disputeId: 'd-1', noticeId: 'n-1', reason: 'r', by: 'acme-hosting' });
  disputed.h.clock.set(disputed.orderDate + 3 * DAY);
  disputed.h.apply({ type: 'dispute-decided', disputeId: 'd-1', decision: DisputeDecision.FALSE_POSITIVE, by: 'hotline' });
  assert.equal(disputed.h.s.status, CaseStatus.CLOSED);
  assert.deepEqual(accruedPenalty(disputed.h.s, new Date(disputed.orderDate + 30 * DAY)), { periods: 2, amountEur: 10_000, capped: false }, 'two days before the dispute, none during it or after closing');
});

test("an officer's note on an issued step is redactable in the evidence and stays out of the event", () => {
  const h = new Harness();
  matched(h);
  sent(h);
  h.fire(); // re-notice
  h.fire(); // reminder
  h.fire(); // binding instruction proposed
  assert.equal(h.s.status, CaseStatus.AWAITING_OFFICER);
  const note = 'called J. Doe at the provider, +31 20 555 0101';
  h.apply({ type: 'officer-decision', stepIndex: 2, decision: OfficerDecision.ISSUE, officer: 'officer-7', note });
  const issued = h.evidence.filter((e) => e.kind === 'escalation.issued').at(-1)!.data as { step: string; reason: unknown };
  assert.equal(issued.step, 'binding-instruction');
  assert.ok(isRedactable(issued.reason), 'the note is redactable');
  assert.equal(issued.reason['@redactable'].value, note);
  const escalated = h.effects.filter((e) => e.type === 'escalated').at(-1)!;
  assert.equal(escalated.reason, 'decided by case officer');
  assert.ok(!JSON.stringify(h.effects).includes('J. Doe'), 'no event carries the note');
  // Without a note the evidence keeps the plain reason.
  const sys = h.evidence.find((e) => e.kind === 'escalation.issued')!.data as { reason: unknown };
  assert.equal(sys.reason, 'deadline passed');
});
