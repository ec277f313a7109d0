import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventCodec, registry, Topics } from '@hashcheck/events';
import { createKafka, ensureTopics } from '@hashcheck/kafka';
import { infra, randomName, TopicRecorder } from '@hashcheck/testing';
// tools/cli has no package entry yet (the hash-check issue creates it); the command is wired there.
import { parseReportLines, reportCommand } from '../../tools/cli/src/commands/report';

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), readStdin: async () => '' } };
}

test('report lines: bare data is wrapped in an envelope, envelopes pass through, every line gets its reasons', () => {
  const lines = parseReportLines(
    [
      JSON.stringify({ reportId: 'p:1', url: 'https://example.org/a', hashes: { md5: MD5 } }),
      '# a comment',
      '',
      JSON.stringify({ id: 'not-a-uuid', type: 'reports.submitted', version: 1, occurredAt: 'x', source: 'p', subject: 'p:2', data: {} }),
      '{broken',
    ].join('\n'),
    { source: 'partner-a' },
  );
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.map((l) => l.line), [1, 4, 5]);
  assert.deepEqual(lines[0]!.reasons, []);
  assert.equal(lines[0]!.event?.subject, 'p:1');
  assert.equal((lines[0]!.event?.data as { source: string }).source, 'partner-a');
  assert.match(lines[1]!.reasons.join(), /\/id must match format "uuid"/);
  assert.match(lines[2]!.reasons.join(), /not JSON/);
});

test('hashcheck report publish: publishes as a partner would, refuses an invalid file unless told', async (t) => {
  const env = infra(t);
  if (!env) return;
  const prefix = `${randomName('cli')}.`;
  const kafka = createKafka({ brokers: env.brokers, clientId: 'cli-test' });
  await ensureTopics(kafka, [registry.topic(Topics.reportsSubmitted)!], { prefix });
  const dir = mkdtempSync(join(tmpdir(), 'hc-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.ndjson');
  writeFileSync(good, `${JSON.stringify({ reportId: 'p:1', url: 'https://example.org/a', hashes: { md5: MD5 } })}\n${JSON.stringify({ reportId: 'p:2', source: 'partner-b', url: 'https://example.org/b', hashes: { md5: MD5 } })}\n`);
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(bad, `${JSON.stringify({ reportId: 'p:3', url: 'https://example.org/a', hashes: {} })}\n`);

  const usage = io();
  assert.equal(await reportCommand(['publish', '--brokers', env.brokers], usage.io), 2, 'no file: usage error');
  assert.equal(await reportCommand(['send', good], usage.io), 2, 'unknown sub-command');
  const refused = io();
  assert.equal(await reportCommand(['publish', bad, '--brokers', env.brokers, '--topic-prefix', prefix, '--source', 'partner-a'], refused.io), 1);
  assert.match(refused.err.join(''), /line 1: \/data\/hashes must NOT have fewer than 1 properties/);

  const ok = io();
  assert.equal(await reportCommand(['publish', good, '--brokers', env.brokers, '--topic-prefix', prefix, '--source', 'partner-a', '--json'], ok.io), 0, ok.err.join(''));
  assert.equal(JSON.parse(ok.out.join('')).published, 2);
  const forced = io();
  assert.equal(await reportCommand(['publish', bad, '--brokers', env.brokers, '--topic-prefix', prefix, '--source', 'partner-a', '--no-validate'], forced.io), 0);

  const recorder = await new TopicRecorder(env.brokers).start([prefix + Topics.reportsSubmitted]);
  t.after(() => recorder.stop());
  const got = await recorder.waitForCount(prefix + Topics.reportsSubmitted, 3);
  const codec = new EventCodec(registry);
  const byKey = new Map(got.map((m) => [m.key, m]));
  assert.deepEqual([...byKey.keys()].sort(), ['p:1', 'p:2', 'p:3']);
  assert.ok(codec.decode(byKey.get('p:1')!.value).ok);
  assert.equal(byKey.get('p:1')!.headers['hc-event-type'], 'reports.submitted');
  assert.equal(byKey.get('p:2')!.json<{ source: string; data: { source: string } }>().data.source, 'partner-b');
  assert.equal(codec.decode(byKey.get('p:3')!.value).ok, false, 'sent on purpose, for intake to reject');
});
