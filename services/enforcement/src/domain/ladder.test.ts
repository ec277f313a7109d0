import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildLadder, DEFAULT_LADDER, MAX_PENALTY_RUN_MS, parseLadderSteps, penaltyAccrued, penaltyExhaustedAt, penaltyRunMs, stepDeadline, type PenaltyTerms } from './ladder';
import { formatDuration, parseDuration } from './duration';

const H = 3_600_000;
const DAY = 24 * H;

test('durations as written in configuration', () => {
  assert.equal(parseDuration('24h'), DAY);
  assert.equal(parseDuration('1h30m'), 1.5 * H);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('7d'), 7 * DAY);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1500'), 1500);
  for (const bad of ['', 'h', '24 hours', '1h x', '-1h']) assert.throws(() => parseDuration(bad), RangeError, bad);
  assert.equal(formatDuration(26 * H + 5 * 60_000), '1d 2h');
});

test('the ladder parses from JSON and errors name the step and field', () => {
  const steps = parseLadderSteps(JSON.stringify([
    { name: 'renotice', notify: true },
    { name: 'penalty-order', requiresOfficer: true, penalty: { amountEur: 1000, period: '1d', capEur: 5000, grace: '12h' } },
  ]));
  assert.equal(steps.length, 2);
  assert.deepEqual(steps[1]?.penalty, { amountEur: 1000, periodMs: DAY, capEur: 5000, graceMs: 12 * H, partialPeriodCounts: true });
  assert.throws(() => parseLadderSteps('[]'), /non-empty/);
  assert.throws(() => parseLadderSteps('[{"name":"Bad Name"}]'), /step 0\.name/);
  assert.throws(() => parseLadderSteps('[{"name":"a"},{"name":"a"}]'), /used twice/);
  assert.throws(() => parseLadderSteps('[{"name":"a","deadline":"soon"}]'), /step 0\.deadline/);
  assert.throws(() => parseLadderSteps('[{"name":"a","penalty":{"amountEur":0,"period":"1d","capEur":1}}]'), /amountEur must be positive/);
  assert.throws(() => parseLadderSteps('[{"name":"a","colour":"red"}]'), /unknown field\(s\) colour/);
  assert.throws(() => parseLadderSteps('[{"name":"a","penalty":{"amountEur":1,"period":"30d","capEur":1000000}}]'), /more than 10 years/);
  assert.throws(() => buildLadder(steps, 'fine'), /not a step/);
  assert.deepEqual(DEFAULT_LADDER.steps.map((s) => s.name), ['renotice', 'reminder', 'binding-instruction', 'penalty-order', 'fine-proposal']);
});

test('penalty accrual counts from the order date, per (started) period, up to the cap', () => {
  const terms: PenaltyTerms = { amountEur: 5000, periodMs: DAY, capEur: 12_000, graceMs: 0, partialPeriodCounts: true };
  const order = new Date('2025-03-01T00:00:00Z');
  const at = (ms: number): Date => new Date(order.getTime() + ms);
  assert.deepEqual(penaltyAccrued(terms, order, order), { periods: 0, amountEur: 0, capped: false });
  assert.deepEqual(penaltyAccrued(terms, order, at(1)), { periods: 1, amountEur: 5000, capped: false });
  assert.deepEqual(penaltyAccrued(terms, order, at(DAY)), { periods: 1, amountEur: 5000, capped: false });
  assert.deepEqual(penaltyAccrued(terms, order, at(DAY + 1)), { periods: 2, amountEur: 10_000, capped: false });
  assert.deepEqual(penaltyAccrued(terms, order, at(2 * DAY + 1)), { periods: 3, amountEur: 12_000, capped: true });
  assert.deepEqual(penaltyAccrued({ ...terms, partialPeriodCounts: false }, order, at(DAY + 1)), { periods: 1, amountEur: 5000, capped: false });
  assert.deepEqual(penaltyAccrued({ ...terms, graceMs: DAY }, order, at(DAY)), { periods: 0, amountEur: 0, capped: false });
  assert.deepEqual(penaltyExhaustedAt(terms, order), at(3 * DAY));
  assert.deepEqual(stepDeadline({ name: 'p', notify: false, requiresOfficer: true, penalty: terms }, order, DAY), at(3 * DAY));
  assert.deepEqual(stepDeadline({ name: 'r', notify: true, requiresOfficer: false }, order, 5 * H), at(5 * H));
});

test('accrual never exceeds the cap, never decreases, and reaches the cap when the order runs out', () => {
  fc.assert(
    fc.property(
      fc.record({ amountEur: fc.integer({ min: 1, max: 100_000 }), periodMs: fc.integer({ min: 1000, max: 30 * DAY }), capEur: fc.integer({ min: 0, max: 1_000_000 }), graceMs: fc.integer({ min: 0, max: 7 * DAY }), partialPeriodCounts: fc.boolean() }),
      fc.integer({ min: 0, max: 400 * DAY }),
      fc.integer({ min: 0, max: 400 * DAY }),
      (terms, a, b) => {
        fc.pre(penaltyRunMs(terms) <= MAX_PENALTY_RUN_MS);
        const order = new Date(Date.UTC(2025, 0, 1));
        const [t1, t2] = a <= b ? [a, b] : [b, a];
        const x = penaltyAccrued(terms, order, new Date(order.getTime() + t1));
        const y = penaltyAccrued(terms, order, new Date(order.getTime() + t2));
        assert.ok(x.amountEur <= terms.capEur && y.amountEur <= terms.capEur);
        assert.ok(x.amountEur <= y.amountEur);
        assert.equal(penaltyAccrued(terms, order, penaltyExhaustedAt(terms, order)).amountEur, terms.capEur);
      },
    ),
  );
});
