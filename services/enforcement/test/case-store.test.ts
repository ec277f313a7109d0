/**
 * The case store's crash windows, against the real database: a record is written first, then its
 * timer and view. Whatever dies in between, no deadline may be left without a timer.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connectMongo } from '@hashcheck/mongo';
import { infra, randomName } from '@hashcheck/testing';
import { newCase, type CaseState, type Decision } from '../src/domain/case';
import { CaseStore, recordId } from '../src/store/cases';

const H = 3_600_000;
const at = new Date(Date.UTC(2025, 2, 3, 9));

async function store(t: TestContext): Promise<CaseStore | undefined> {
  const env = infra(t);
  if (!env) return undefined;
  const handle = await connectMongo(env.mongoUri, { appName: 'case-store-test', dbName: randomName('cases').replace(/-/g, '_') });
  t.after(async () => { await handle.db.dropDatabase(); await handle.client.close(); });
  return new CaseStore(handle.db, () => []);
}

const change = (state: CaseState): Decision => ({ kind: 'changed', state, evidence: [{ kind: 'test.change', data: { dueAt: state.dueAt?.toISOString() ?? null } }], effects: [] });
const opts = { now: at, input: 'test' };

function dieOnce<T extends object, K extends keyof T>(t: TestContext, target: T, method: K, after: boolean): void {
  const original = target[method] as (...args: unknown[]) => Promise<unknown>;
  let died = false;
  target[method] = (async (...args: unknown[]) => {
    if (died) return original.apply(target, args);
    died = true;
    if (after) await original.apply(target, args);
    throw new Error(`simulated crash ${after ? 'after' : 'before'} ${String(method)}`);
  }) as T[K];
  t.after(() => { target[method] = original as T[K]; });
}

test('a record that brings a deadline forward has its timer before it is written: a writer that dies right after the record leaves the deadline covered', async (t) => {
  const cases = await store(t);
  if (!cases) return;
  const id = 'case-forward.1';
  await cases.apply(id, () => change(newCase(id, 'key', at)), opts);
  assert.equal(await cases.timers.findOne({ _id: id }), null, 'no due time, no timer');

  const deadline = new Date(at.getTime() + 24 * H);
  // An officer's decision over HTTP: nothing redelivers it when the process dies.
  dieOnce(t, cases.log, 'insertOne', true);
  await assert.rejects(cases.apply(id, (s) => change({ ...s!, dueAt: deadline }), opts), /simulated crash/);
  assert.equal((await cases.latest(id))?.state.dueAt?.getTime(), deadline.getTime(), 'the record was written');
  const due = await cases.dueCases(deadline, 10);
  assert.deepEqual(due.map((d) => d.id), [id], 'the poller finds the case when its deadline comes');
  assert.ok(due[0]!.dueAt.getTime() <= deadline.getTime());
});

test('a writer slower than a newer one never takes the newer record\'s timer away', async (t) => {
  const cases = await store(t);
  if (!cases) return;
  const id = 'case-race.1';
  // Writer A appends record 1 (no due time) and is slow to refresh; writer B appends record 2
  // (a deadline) and refreshes; then A refreshes from record 1 and dies before its view write.
  await cases.apply(id, () => change(newCase(id, 'key', at)), opts);
  const deadline = new Date(at.getTime() + 24 * H);
  await cases.apply(id, (s) => change({ ...s!, dueAt: deadline }), opts);
  const rec1 = await cases.log.findOne({ _id: recordId(id, 1) });
  assert.ok(rec1);
  dieOnce(t, cases.coll, 'replaceOne', false);
  await assert.rejects(cases.refreshView(id, rec1), /simulated crash/);
  const timer = await cases.timers.findOne({ _id: id });
  assert.deepEqual(timer && { seq: timer.seq, dueAt: timer.dueAt.getTime() }, { seq: 2, dueAt: deadline.getTime() }, 'record 2\'s timer is still there');

  // Without the crash, A's refresh ends on the latest record too.
  await cases.refreshView(id, rec1);
  assert.equal((await cases.coll.findOne({ _id: id }))?.seq, 2);
  assert.equal((await cases.timers.findOne({ _id: id }))?.seq, 2);
});

test('an older record\'s timer is moved to a newer record, and deleted when the newer one has no due time', async (t) => {
  const cases = await store(t);
  if (!cases) return;
  const id = 'case-moves.1';
  const first = new Date(at.getTime() + 24 * H);
  const later = new Date(at.getTime() + 48 * H);
  await cases.apply(id, () => change({ ...newCase(id, 'key', at), dueAt: first }), opts);
  assert.deepEqual((await cases.timers.findOne({ _id: id }))?.dueAt, first);
  await cases.apply(id, (s) => change({ ...s!, dueAt: later }), opts);
  const moved = await cases.timers.findOne({ _id: id });
  assert.deepEqual(moved && { seq: moved.seq, dueAt: moved.dueAt }, { seq: 2, dueAt: later }, 'a later deadline moves the timer (no early wake-up needed)');
  await cases.apply(id, (s) => change({ ...s!, dueAt: null }), opts);
  assert.equal(await cases.timers.findOne({ _id: id }), null);
});
