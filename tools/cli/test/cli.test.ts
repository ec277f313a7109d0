import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '@hashcheck/config';
import { sha256Hex } from '@hashcheck/auth';
import { buildApp, HashCheckConfigSchema } from '@hashcheck/hash-check';
import { infra, randomName } from '@hashcheck/testing';
import { main, type CliIo } from '@hashcheck/cli';

function io(env: Record<string, string>): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), tty: false, env };
}

test('usage errors exit 2 without contacting anything', async () => {
  const o = io({});
  assert.equal(await main(['node', 'hashcheck', 'list', 'create', 'x'], o), 2);
  assert.equal(await main(['node', 'hashcheck', 'list', 'ls'], o), 2);
  assert.match(o.errors.join('\n'), /no API key/);
  assert.equal(await main(['node', 'hashcheck', '--api', 'ftp://x', 'list', 'ls'], o), 2);
});

test('hashcheck: tenant, key, list, import with progress and malformed lines, check, revoke — against a running service', async (t) => {
  const env = infra(t);
  if (!env) return;
  const adminKey = `admin-${randomBytes(16).toString('hex')}`;
  const config = loadConfig(HashCheckConfigSchema, {
    KAFKA_BROKERS: env.brokers,
    MONGODB_URI: env.mongoUri,
    MONGODB_DATABASE: randomName('cli').replace(/-/g, '_'),
    KAFKA_TOPIC_PREFIX: `${randomName('t')}.`,
    HASH_LIST_SECRET: `k1:${'c'.repeat(40)}`,
    HASH_CHECK_BOOTSTRAP_KEYS: `ops:admin:${sha256Hex(adminKey)}`,
    AUTH_CACHE_MS: '0',
    IMPORT_CHUNK_SIZE: '100',
  });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  t.after(() => app.close());
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'hashcheck-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = async (args: string[], key = adminKey): Promise<{ code: number; out: string; err: string }> => {
    const o = io({ HASHCHECK_KEY: key });
    const code = await main(['node', 'hashcheck', '--api', address, ...args], o);
    return { code, out: o.lines.join('\n'), err: o.errors.join('\n') };
  };

  assert.equal((await cli(['tenant', 'create', 'host-one', '--name', 'Host One'])).code, 0);
  const issued = await cli(['key', 'issue', 'host-one', '--name', 'scanner', '--scopes', 'checker']);
  assert.equal(issued.code, 0, issued.err);
  const checkerKey = issued.out.split('\n')[1] as string;
  assert.match(checkerKey, /^hck_[0-9a-f]{16}_/);
  assert.equal((await cli(['list', 'create', 'police', '--name', 'Police', '--source', 'police', '--category', 'csam-a', '--owner', 'Police'])).code, 0);

  const hashes = Array.from({ length: 1000 }, () => randomBytes(16).toString('hex'));
  const file = join(dir, 'police.csv');
  writeFileSync(file, `type,hash\n${hashes.map((h) => `md5,${h}`).join('\n')}\nmd5,nothex\nsha1,${hashes[0]}\n`);
  const imported = await cli(['import', 'police', file, '--activate']);
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /lines 1003; added 1000 md5; retracted none; malformed 2/);
  assert.match(imported.out, /line 1002: a md5 hash is 32 hex digits, got 6 characters/);
  assert.match(imported.out, /line 1003: a sha1 hash is 40 hex digits, got 32 characters/);
  assert.match(imported.out, /activated/);
  assert.match(imported.err, /importing: .* MB \(100%\)/);

  const checked = await cli(['check', 'md5', hashes[5] as string, randomBytes(16).toString('hex'), 'zz'], checkerKey);
  assert.equal(checked.code, 0, checked.err);
  const rows = checked.out.split('\n');
  assert.match(rows[0] as string, /MATCH police\/csam-a/);
  assert.match(rows[1] as string, /no match/);
  assert.match(rows[2] as string, /HC_INVALID_HASH/);

  const forbidden = await cli(['list', 'ls'], checkerKey);
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.err, /HC_FORBIDDEN \(HTTP 403\)/);

  const keyId = /^key ([0-9a-f]{16})/.exec(issued.out)?.[1] as string;
  assert.equal((await cli(['key', 'revoke', 'host-one', keyId])).code, 0);
  const revoked = await cli(['check', 'md5', hashes[5] as string], checkerKey);
  assert.equal(revoked.code, 1);
  assert.match(revoked.err, /HC_UNAUTHORIZED/);

  const ls = await cli(['list', 'ls']);
  assert.match(ls.out, /police\tactive\tpolice\tthreshold 31\trev 2\tPolice\tmd5:1000/);
});
