import { test } from 'node:test';
import assert from 'node:assert/strict';
import Module from 'node:module';
import { join } from 'node:path';
import { memoiseDependencyResolution } from '../src/resolve-memo';

type Resolve = (request: string, parent: { filename?: string } | undefined, isMain?: boolean, options?: unknown) => string;
const mod = Module as unknown as { _resolveFilename: Resolve };

test('resolution of a require made inside node_modules is remembered; the project\'s own, failures and calls with options are not', (t) => {
  const calls: string[] = [];
  const underlying: Resolve = (request, parent) => {
    calls.push(`${parent?.filename}:${request}`);
    if (request === './missing') throw Object.assign(new Error('Cannot find module'), { code: 'MODULE_NOT_FOUND' });
    return join(parent?.filename ?? '/', '..', `${request}.js`);
  };
  const saved = mod._resolveFilename;
  mod._resolveFilename = underlying;
  t.after(() => { mod._resolveFilename = saved; });
  const restore = memoiseDependencyResolution();

  const dep = { filename: '/app/node_modules/kafkajs/src/protocol/requests/fetch/index.js' };
  const own = { filename: '/app/services/intake/src/main.ts' };
  const first = mod._resolveFilename('./v11/request', dep);
  assert.equal(mod._resolveFilename('./v11/request', dep), first);
  assert.equal(mod._resolveFilename('./v11/request', dep), first);
  assert.equal(calls.filter((c) => c.endsWith(':./v11/request')).length, 1, 'resolved once');
  mod._resolveFilename('./v11/request', { filename: '/app/node_modules/other/index.js' });
  assert.equal(calls.filter((c) => c.endsWith(':./v11/request')).length, 2, 'per requiring file');

  mod._resolveFilename('./config.js', own);
  mod._resolveFilename('./config.js', own);
  assert.equal(calls.filter((c) => c.endsWith(':./config.js')).length, 2, 'the project\'s files are resolved every time (tsx maps them)');

  assert.throws(() => mod._resolveFilename('./missing', dep));
  assert.throws(() => mod._resolveFilename('./missing', dep));
  assert.equal(calls.filter((c) => c.endsWith(':./missing')).length, 2, 'a failure is not remembered');

  mod._resolveFilename('./v11/request', dep, false, { paths: ['/x'] });
  assert.equal(calls.filter((c) => c.endsWith(':./v11/request')).length, 3, 'a call with options is passed through');

  restore();
  assert.equal(mod._resolveFilename, underlying, 'restored');
});
