import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '@hashcheck/logging';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('JSON lines with the service name and secrets redacted', () => {
  const out = capture();
  const log = createLogger({ service: 'intake', destination: out.stream, pretty: false });
  log.info({ req: { headers: { authorization: 'Bearer hc_live_secret' } }, apiKey: 'k-123', provider: { signingSecret: 's3' } }, 'hello');
  const [line] = out.lines();
  assert.equal(line?.service, 'intake');
  assert.equal(line?.msg, 'hello');
  const text = JSON.stringify(line);
  assert.doesNotMatch(text, /hc_live_secret|k-123|s3"/);
  assert.match(text, /\[redacted\]/);
});

test('level filters', () => {
  const out = capture();
  const log = createLogger({ service: 's', level: 'warn', destination: out.stream, pretty: false });
  log.info('no');
  log.warn('yes');
  assert.deepEqual(out.lines().map((l) => l.msg), ['yes']);
});
