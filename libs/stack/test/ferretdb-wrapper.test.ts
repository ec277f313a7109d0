import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from '../src/prereqs';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'ferretdb');

// The wrapper's own Go code (the SQLite pragmas it adds, the lazy log attributes) has Go tests; they
// need only the standard library, so they build in seconds wherever the stack can build FerretDB.
test('the FerretDB wrapper passes its Go tests (go test ./sqliteopts/)', (t) => {
  const go = findOnPath('go');
  if (!go) {
    t.skip('needs go on PATH (the local stack needs it too, to build FerretDB)');
    return;
  }
  const r = spawnSync(go, ['test', '-count=1', './sqliteopts/'], { cwd: pkg, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `go test failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^ok\s+\S+\/sqliteopts/m);
});
