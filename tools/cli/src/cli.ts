import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiError, HashCheckClient, type ReleaseInfo } from './client';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Whether to draw a progress bar (a terminal). */
  tty: boolean;
  env: Record<string, string | undefined>;
}

const defaultIo = (): CliIo => ({
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  tty: process.stderr.isTTY === true,
  env: process.env,
});

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function apiUrl(v: string): string {
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.toString();
  } catch {
    // fall through
  }
  throw new InvalidArgumentError('must be an http(s) URL');
}

/** A usage problem found after parsing (commander reports its own). */
class UsageError extends Error {}

const mb = (n: number): string => (n / 1_048_576).toFixed(1);

function summary(r: ReleaseInfo): string[] {
  const sum = (c: Record<string, number>): string => Object.entries(c).filter(([, n]) => n > 0).map(([t, n]) => `${n} ${t}`).join(', ') || 'none';
  const lines = [
    `release ${r.id} of list ${r.listId}: ${r.status} (${r.mode})`,
    `  lines ${r.lines}; added ${sum(r.counts.add)}; retracted ${sum(r.counts.retract)}; malformed ${r.errorCount}`,
  ];
  if (r.failure) lines.push(`  failure: ${r.failure}`);
  for (const e of (r.errors ?? []).slice(0, 20)) lines.push(`  line ${e.line}: ${e.reason}`);
  if (r.errorCount > 20) lines.push(`  … ${r.errorCount - 20} more malformed lines (GET /v1/lists/${r.listId}/releases/${r.id} shows up to 1000)`);
  return lines;
}

/** Builds the command tree; `run` gets the client lazily so `--help` works without a key. */
export function buildProgram(io: CliIo, exit: { code: number }): Command {
  const program = new Command('hashcheck')
    .description('Manage HashCheck hash lists, tenants and API keys over the hash-check API.')
    .addOption(new Option('--api <url>', 'hash-check API base URL').env('HASHCHECK_API').default('http://127.0.0.1:8080/').argParser(apiUrl))
    .addOption(new Option('--key <key>', 'API key (prefer HASHCHECK_KEY or --key-file)').env('HASHCHECK_KEY'))
    .option('--key-file <file>', 'read the API key from a file')
    .option('--json', 'print JSON answers as they are')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const client = (): HashCheckClient => {
    const o = program.opts<{ api: string; key?: string; keyFile?: string }>();
    const key = o.keyFile ? readFileSync(o.keyFile, 'utf8').trim() : (o.key ?? io.env.HASHCHECK_KEY);
    if (!key) throw new UsageError('no API key: set HASHCHECK_KEY, --key-file or --key');
    return new HashCheckClient({ api: o.api, key });
  };
  const json = (): boolean => program.opts<{ json?: boolean }>().json === true;
  const print = (value: unknown, human: () => string[]): void => {
    if (json()) io.out(JSON.stringify(value, null, 2));
    else for (const l of human()) io.out(l);
  };

  program
    .command('import')
    .description('import a list file (NDJSON, CSV with header, or one hash per line) as a release, with a progress bar')
    .argument('<listId>', 'list id')
    .argument('<file>', 'list file (.ndjson/.jsonl, .csv, .txt)')
    .addOption(new Option('--mode <mode>', 'full = the complete new content; delta = additions and retractions').choices(['full', 'delta']).default('full'))
    .addOption(new Option('--format <format>', 'file format (default from the extension)').choices(['ndjson', 'csv', 'text']))
    .addOption(new Option('--type <type>', 'hash type of lines that name none (required for text files)').choices(['md5', 'sha1', 'sha256', 'pdq']))
    .option('--activate', 'activate the release when the import is complete')
    .option('--note <text>', 'note stored with the release')
    .option('--max-errors <n>', 'fail the release when more lines are malformed', int('--max-errors', 0, 1e9))
    .action(async (listId: string, file: string, o: { mode: string; format?: string; type?: string; activate?: boolean; note?: string; maxErrors?: number }) => {
      const bar = io.tty ? new SingleBar({ format: 'importing {bar} {percentage}% | {sentMb}/{totalMb} MB | {rate} MB/s | eta {eta}s', hideCursor: true, stream: process.stderr }) : undefined;
      const started = Date.now();
      let lastLog = 0;
      const result = await client().importFile(listId, file, o, (sent, total) => {
        const rate = mb(sent / Math.max(0.001, (Date.now() - started) / 1000));
        if (bar) {
          if (!bar.isActive) bar.start(total, 0, { sentMb: '0.0', totalMb: mb(total), rate: '0.0' });
          bar.update(sent, { sentMb: mb(sent), totalMb: mb(total), rate });
        } else if (Date.now() - lastLog > 2000 || sent === total) {
          lastLog = Date.now();
          io.err(`importing: ${mb(sent)}/${mb(total)} MB (${Math.round((100 * sent) / Math.max(1, total))}%)`);
        }
      }).finally(() => bar?.stop());
      print(result, () => [...summary(result.release), result.activated ? '  activated' : result.release.status === 'ready' ? `  not active yet: hashcheck release activate ${listId} ${result.release.id}` : '']);
      if (result.release.status === 'failed') exit.code = 1;
    });

  const lists = program.command('list').description('hash lists');
  lists.command('ls').description('all lists').action(async () => {
    const r = await client().request<{ lists: { id: string; name: string; source: string; status: string; threshold: number; revision: number; loaded: { entries: Record<string, number> | null } }[] }>('GET', 'v1/lists');
    print(r, () => r.lists.map((l) => `${l.id}\t${l.status}\t${l.source}\tthreshold ${l.threshold}\trev ${l.revision}\t${l.name}\t${l.loaded.entries ? Object.entries(l.loaded.entries).map(([t, n]) => `${t}:${n}`).join(' ') : ''}`));
  });
  lists
    .command('create')
    .argument('<id>')
    .requiredOption('--name <name>')
    .addOption(new Option('--source <source>', 'provenance').choices(['police', 'interpol', 'ncmec', 'hotline', 'partner', 'other']).makeOptionMandatory())
    .requiredOption('--category <slug>', 'category of entries that name none')
    .requiredOption('--owner <owner>')
    .option('--threshold <n>', 'PDQ threshold 0..63 (default 31)', int('--threshold', 0, 63))
    .option('--description <text>')
    .option('--disabled', 'create it disabled')
    .action(async (id: string, o: { name: string; source: string; category: string; owner: string; threshold?: number; description?: string; disabled?: boolean }) => {
      const r = await client().request<{ id: string; revision: number }>('POST', 'v1/lists', { id, name: o.name, source: o.source, category: o.category, owner: o.owner, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}), ...(o.description ? { description: o.description } : {}), status: o.disabled ? 'disabled' : 'active' });
      print(r, () => [`created list ${r.id}`]);
    });
  lists.command('show').argument('<id>').action(async (id: string) => {
    const r = await client().request<unknown>('GET', `v1/lists/${encodeURIComponent(id)}`);
    io.out(JSON.stringify(r, null, 2));
  });
  for (const [cmd, status] of [['enable', 'active'], ['disable', 'disabled']] as const) {
    lists.command(cmd).argument('<id>').action(async (id: string) => {
      const r = await client().request<{ id: string; status: string; revision: number }>('PATCH', `v1/lists/${encodeURIComponent(id)}`, { status });
      print(r, () => [`list ${r.id} is ${r.status} (revision ${r.revision})`]);
    });
  }
  lists.command('retire').argument('<id>').description('stop matching for good; the history stays').action(async (id: string) => {
    const r = await client().request<{ id: string; status: string }>('DELETE', `v1/lists/${encodeURIComponent(id)}`);
    print(r, () => [`list ${r.id} is ${r.status}`]);
  });

  const release = program.command('release').description('releases of a list');
  release.command('ls').argument('<listId>').action(async (listId: string) => {
    const r = await client().request<{ releases: ReleaseInfo[] }>('GET', `v1/lists/${encodeURIComponent(listId)}/releases`);
    print(r, () => r.releases.map((x) => `${x.id}\t${x.status}\t${x.mode}\t${x.createdAt}\tlines ${x.lines}\tmalformed ${x.errorCount}`));
  });
  release.command('show').argument('<listId>').argument('<releaseId>').action(async (listId: string, id: string) => {
    const r = await client().request<ReleaseInfo>('GET', `v1/lists/${encodeURIComponent(listId)}/releases/${encodeURIComponent(id)}`);
    print(r, () => summary(r));
  });
  release.command('activate').argument('<listId>').argument('<releaseId>').action(async (listId: string, id: string) => {
    const r = await client().request<ReleaseInfo>('POST', `v1/lists/${encodeURIComponent(listId)}/releases/${encodeURIComponent(id)}/activate`);
    print(r, () => summary(r));
  });

  const tenant = program.command('tenant').description('tenants (hosting companies, hotline teams)');
  tenant
    .command('create')
    .argument('<id>', 'lower-case slug; also the Basic auth user name of EOKM clients')
    .requiredOption('--name <name>')
    .addOption(new Option('--kind <kind>').choices(['hosting', 'hotline', 'admin']).default('hosting'))
    .option('--rate-limit <perMinute>', 'requests per minute', int('--rate-limit', 1, 1_000_000))
    .option('--contact <email>')
    .action(async (id: string, o: { name: string; kind: string; rateLimit?: number; contact?: string }) => {
      const r = await client().request<{ id: string }>('POST', 'v1/tenants', { id, name: o.name, kind: o.kind, ...(o.rateLimit !== undefined ? { rateLimitPerMinute: o.rateLimit } : {}), ...(o.contact ? { contact: o.contact } : {}) });
      print(r, () => [`created tenant ${r.id}`]);
    });
  tenant.command('ls').action(async () => {
    const r = await client().request<{ tenants: { id: string; name: string; kind: string; status: string }[] }>('GET', 'v1/tenants');
    print(r, () => r.tenants.map((x) => `${x.id}\t${x.kind}\t${x.status}\t${x.name}`));
  });
  tenant.command('show').argument('<id>').action(async (id: string) => {
    io.out(JSON.stringify(await client().request<unknown>('GET', `v1/tenants/${encodeURIComponent(id)}`), null, 2));
  });

  const key = program.command('key').description('API keys');
  key
    .command('issue')
    .argument('<tenantId>')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <list>', 'comma-separated: checker, hotline, admin', 'checker')
    .action(async (tenantId: string, o: { name: string; scopes: string }) => {
      const scopes = o.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const r = await client().request<{ key: string; apiKey: { keyId: string; scopes: string[] } }>('POST', `v1/tenants/${encodeURIComponent(tenantId)}/keys`, { name: o.name, scopes });
      print(r, () => [`key ${r.apiKey.keyId} for ${tenantId} (${r.apiKey.scopes.join(', ')}):`, r.key, 'store it now: it cannot be shown again']);
    });
  key.command('ls').argument('<tenantId>').action(async (tenantId: string) => {
    const r = await client().request<{ keys: { keyId: string; name: string; scopes: string[]; createdAt: string; revokedAt?: string }[] }>('GET', `v1/tenants/${encodeURIComponent(tenantId)}/keys`);
    print(r, () => r.keys.map((k) => `${k.keyId}\t${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}\t${k.scopes.join('+')}\t${k.name}`));
  });
  key.command('revoke').argument('<tenantId>').argument('<keyId>').action(async (tenantId: string, keyId: string) => {
    const r = await client().request<{ keyId: string; revokedAt?: string }>('DELETE', `v1/tenants/${encodeURIComponent(tenantId)}/keys/${encodeURIComponent(keyId)}`);
    print(r, () => [`key ${r.keyId} revoked at ${r.revokedAt}`]);
  });

  program
    .command('check')
    .description('check hashes (bulk API)')
    .addArgument(new Argument('<type>').choices(['md5', 'sha1', 'sha256', 'pdq']))
    .argument('<hash...>')
    .action(async (type: string, hashes: string[]) => {
      const r = await client().request<{ results: { index: number; match?: boolean; matches?: { list: string; category: string; distance: number }[]; error?: { code: string; message: string } }[] }>('POST', 'v1/check', { items: hashes.map((hash) => ({ type, hash })) });
      print(r, () => r.results.map((x) => `${hashes[x.index]}\t${x.error ? `${x.error.code}: ${x.error.message}` : x.match ? `MATCH ${x.matches?.map((m) => `${m.list}/${m.category}${m.distance ? ` d=${m.distance}` : ''}`).join(' ')}` : 'no match'}`));
    });
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 API or file error, 2 usage error). */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const exit = { code: 0 };
  const program = buildProgram(io, exit);
  try {
    await program.parseAsync(argv);
    return exit.code;
  } catch (err) {
    // Commander has printed its own usage errors already.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      io.err(`hashcheck: ${err.message}`);
      return 2;
    }
    if (err instanceof ApiError) {
      io.err(`hashcheck: ${err.code} (HTTP ${err.status}): ${err.message}`);
      if (Array.isArray(err.details)) for (const d of err.details.slice(0, 20)) io.err(`  ${typeof d === 'string' ? d : JSON.stringify(d)}`);
      return 1;
    }
    io.err(`hashcheck: ${(err as Error).message}`);
    return 1;
  }
}
