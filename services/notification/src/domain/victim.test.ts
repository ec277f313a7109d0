import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestIdFor, DigestChoice, nextDigestAt, shouldSendDigest } from './victim';

const t = new Date('2025-01-15T10:30:00Z');
const hour = 3_600_000;

test('each detection: due a delay after the first unreported detection; later ones join it', () => {
  const s = { choice: DigestChoice.EACH_DETECTION, delayMs: 2 * hour, nextDigestAt: null };
  const first = nextDigestAt(s, 'found', t, { found: 1, removed: 0 });
  assert.equal(first?.toISOString(), '2025-01-15T12:30:00.000Z');
  assert.equal(nextDigestAt({ ...s, nextDigestAt: first }, 'found', new Date(t.getTime() + hour), { found: 2, removed: 0 }), first);
  assert.equal(nextDigestAt(s, 'removed', t, { found: 1, removed: 1 }), null, 'removals alone do not trigger');
});

test('daily: the start of the next UTC day plus the delay', () => {
  const s = { choice: DigestChoice.DAILY, delayMs: 9 * hour, nextDigestAt: null };
  assert.equal(nextDigestAt(s, 'found', t, { found: 1, removed: 0 })?.toISOString(), '2025-01-16T09:00:00.000Z');
  assert.equal(nextDigestAt(s, 'removed', t, { found: 1, removed: 1 })?.toISOString(), '2025-01-16T09:00:00.000Z');
});

test('all removed: scheduled only while everything found is removed, cancelled otherwise', () => {
  const s = { choice: DigestChoice.ALL_REMOVED, delayMs: hour, nextDigestAt: null };
  assert.equal(nextDigestAt(s, 'found', t, { found: 2, removed: 1 }), null);
  const due = nextDigestAt(s, 'removed', t, { found: 2, removed: 2 });
  assert.equal(due?.toISOString(), '2025-01-15T11:30:00.000Z');
  assert.equal(nextDigestAt({ ...s, nextDigestAt: due }, 'found', t, { found: 3, removed: 2 }), null);
  assert.equal(nextDigestAt(s, 'found', t, { found: 0, removed: 0 }), null);
});

test('whether a due digest still has something to say', () => {
  const c = { found: 2, removed: 2, online: 0, newlyFound: 0, newlyRemoved: 1 };
  assert.equal(shouldSendDigest('all-removed', c, true), true);
  assert.equal(shouldSendDigest('all-removed', { ...c, newlyRemoved: 0 }, true), false);
  assert.equal(shouldSendDigest('all-removed', { ...c, removed: 1, online: 1 }, false), false);
  assert.equal(shouldSendDigest('each-detection', c, true), false);
  assert.equal(shouldSendDigest('each-detection', { ...c, newlyFound: 1 }, true), true);
  assert.equal(shouldSendDigest('daily', c, true), true);
  assert.equal(shouldSendDigest('daily', { ...c, newlyRemoved: 0 }, true), false);
  assert.equal(digestIdFor('s', 3), digestIdFor('s', 3));
  assert.notEqual(digestIdFor('s', 3), digestIdFor('s', 4));
  assert.notEqual(digestIdFor('s', 3), digestIdFor('t', 3));
});
