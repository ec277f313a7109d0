import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendEntries, toNdjson } from '@hashcheck/evidence';
import { evidenceCommand, type CommandIo } from './evidence';

function io(stdin = ''): CommandIo & { out: string; err: string } {
  const o = { out: '', err: '', stdout: (t: string) => { o.out += t; }, stderr: (t: string) => { o.err += t; }, readStdin: async () => stdin };
  return o;
}

test('hashcheck evidence verify: intact, tampered, cut short, and usage errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hc-evidence-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const entries = appendEntries(undefined, [
    { at: '2025-03-03T09:00:00Z', kind: 'notice.sent', data: { noticeId: 'n-1', deadlineAt: '2025-03-04T09:00:00Z' } },
    { at: '2025-03-04T09:00:01Z', kind: 'deadline.missed', data: { stepIndex: -1 } },
    { at: '2025-03-04T09:00:01Z', kind: 'escalation.issued', data: { step: 'renotice' } },
  ]);
  const good = join(dir, 'good.ndjson');
  await writeFile(good, toNdjson(entries));
  const head = entries[2]!.hash;

  let o = io();
  assert.equal(await evidenceCommand(['verify', good, '--head', head], o), 0);
  assert.match(o.out, /^OK: 3 entries, head [0-9a-f]{64}, anchored head found/);

  const tampered = join(dir, 'tampered.ndjson');
  await writeFile(tampered, toNdjson(entries).replace('2025-03-04T09:00:00Z', '2025-03-05T09:00:00Z'));
  o = io();
  assert.equal(await evidenceCommand(['verify', tampered], o), 1);
  assert.match(o.out, /NOT INTACT: altered entry 1 \(line 1\)/);

  const cut = join(dir, 'cut.ndjson');
  await writeFile(cut, toNdjson(entries.slice(0, 2)));
  o = io();
  assert.equal(await evidenceCommand(['verify', cut], o), 0, 'consistent in itself');
  o = io();
  assert.equal(await evidenceCommand(['verify', cut, '--head', head, '--json'], o), 1);
  assert.equal(JSON.parse(o.out).seq, 3);

  o = io(toNdjson([entries[0]!, entries[2]!]));
  assert.equal(await evidenceCommand(['verify', '-'], o), 1);
  assert.match(o.out, /missing entry 2/);

  for (const bad of [[], ['check', good], ['verify'], ['verify', good, '--head', 'xyz'], ['verify', join(dir, 'absent.ndjson')]]) {
    o = io();
    assert.equal(await evidenceCommand(bad, o), 2, bad.join(' '));
    assert.notEqual(o.err, '');
  }
});
