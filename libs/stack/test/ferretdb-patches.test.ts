import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatches, FERRETDB_PATCHES, type SourcePatch } from '../src/ferretdb-patches';

const patch: SourcePatch = { file: 'a.go', from: 'x = 1', to: 'x = 2', why: 'test' };

test('a patch replaces its text in its own file only', () => {
  assert.equal(applyPatches('a.go', 'var x = 1\n', [patch]), 'var x = 2\n');
  assert.equal(applyPatches('b.go', 'var x = 1\n', [patch]), 'var x = 1\n');
});

test('a patch whose text is missing or repeated fails the build instead of being skipped', () => {
  assert.throws(() => applyPatches('a.go', 'var y = 1\n', [patch]), /exactly once, found it 0 times/);
  assert.throws(() => applyPatches('a.go', 'x = 1; x = 1\n', [patch]), /exactly once, found it 2 times/);
});

test('the _id patch turns the lookup expression into the indexed one', () => {
  const [idPatch] = FERRETDB_PATCHES;
  assert.ok(idPatch);
  const out = applyPatches(idPatch.file, `\tIDColumn = DefaultColumn + "->'$._id'"\n`);
  assert.equal(out, `\tIDColumn = DefaultColumn + "->'_id'"\n`);
});
