import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topics } from '@hashcheck/events';
import { ledgerRetentionMs } from '@hashcheck/mongo';

const DAY = 24 * 60 * 60 * 1000;

test("a consumer's published-events ledger outlives its input topic's retention by a day; a topic without one is refused", () => {
  assert.equal(ledgerRetentionMs(Topics.reportsSubmitted), 15 * DAY);
  assert.equal(ledgerRetentionMs(Topics.reportsAccepted), 15 * DAY);
  assert.throws(() => ledgerRetentionMs('hashcheck.no-such-topic.v1'), /no retention/);
});
