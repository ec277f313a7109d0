import { availableParallelism } from 'node:os';
import { hashFile, type HashOutcome } from './file-hasher';
import { csvLine } from './report';
import { HashPool } from './worker-pool';

export interface HashCommandOptions {
  readonly json?: boolean;
  readonly pdq?: boolean;
  readonly threads?: number;
  readonly followSymlinks?: boolean;
  readonly out?: (text: string) => void;
  readonly err?: (line: string) => void;
}

export const HASH_CSV_HEADER = ['path', 'size', 'md5', 'sha1', 'sha256', 'pdq', 'quality'] as const;

export function formatHashOutcome(o: HashOutcome & { ok: true }, json: boolean): string {
  const v = o.value;
  if (json) return JSON.stringify(v) + '\n';
  return csvLine([v.path, v.size, v.md5, v.sha1, v.sha256, v.pdq, v.quality]);
}

/**
 * `hashcheck-scan hash FILE...`: digests of every file and PDQ of every image (recognised by
 * content), in the order given. Returns the exit code: 0, or 2 when a file could not be hashed.
 */
export async function runHashCommand(files: readonly string[], options: HashCommandOptions = {}): Promise<0 | 2> {
  const out = options.out ?? ((t: string) => void process.stdout.write(t));
  const err = options.err ?? ((l: string) => void process.stderr.write(l + '\n'));
  const json = options.json ?? false;
  const fileOptions = { pdq: options.pdq ?? true, followSymlinks: options.followSymlinks ?? true };
  if (!json) out(csvLine([...HASH_CSV_HEADER]));
  // Worker start-up costs more than hashing a handful of files inline.
  const threads = Math.min(options.threads ?? availableParallelism(), files.length);
  const pool = files.length > 4 && threads > 1 ? new HashPool({ ...fileOptions, threads }) : null;
  let failed = 0;
  try {
    const results = files.map((f) => (pool ? pool.hash(f) : null));
    for (const [i, f] of files.entries()) {
      const o = (await results[i]) ?? (await hashFile(f, fileOptions));
      if (o.ok) {
        out(formatHashOutcome(o, json));
        if (o.value.pdqError) err(`warning: ${f}: no PDQ: ${o.value.pdqError}`);
      } else {
        failed++;
        err(`error: ${o.error.code}: ${o.error.message}`);
      }
    }
  } finally {
    await pool?.close();
  }
  return failed > 0 ? 2 : 0;
}
