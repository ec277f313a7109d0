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

test('a line logged inside a span carries its trace_id and span_id, without the OpenTelemetry SDK or its pino patch', async () => {
  const { context, trace, TraceFlags } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const manager = new AsyncLocalStorageContextManager().enable();
  assert.ok(context.setGlobalContextManager(manager), 'no other context manager is registered in this process');
  try {
    const out = capture();
    // This logger was made from a pino loaded before anything could patch it.
    const log = createLogger({ service: 's', destination: out.stream, pretty: false });
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
    context.with(trace.setSpan(context.active(), span), () => log.info('inside'));
    log.info('outside');
    const [inside, outside] = out.lines();
    assert.equal(inside?.trace_id, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(inside?.span_id, 'b7ad6b7169203331');
    assert.equal(inside?.trace_flags, '01');
    assert.equal(outside?.trace_id, undefined);
    assert.equal(outside?.span_id, undefined);
  } finally {
    context.disable();
  }
});
