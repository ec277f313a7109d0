import { readFile } from 'node:fs/promises';
import { verify, type VerifyOptions } from '@hashcheck/evidence';

/**
 * `hashcheck evidence verify FILE [--head HASH] [--count N] [--json]`
 *
 * Checks an evidence file exported by enforcement (GET /v1/cases/:id/evidence): every entry's
 * hash, every link to the previous entry, and the sequence numbers. Names the first altered or
 * missing entry. `--head` (the x-evidence-head header, or a hash quoted in a decision) also
 * proves that nothing was cut off the end. FILE `-` reads standard input.
 *
 * Exit codes: 0 the file is intact, 1 it is not, 2 usage or read error.
 */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

const defaultIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

export const EVIDENCE_USAGE = 'usage: hashcheck evidence verify FILE [--head HASH] [--count N] [--json]\n';

/** Runs `hashcheck evidence ...` with the arguments after `evidence`; resolves to the exit code. */
export async function evidenceCommand(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'verify') {
    io.stderr(EVIDENCE_USAGE);
    return 2;
  }
  let file: string | undefined;
  let json = false;
  const options: VerifyOptions = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--json') json = true;
    else if (a === '--head') {
      const v = rest[++i];
      if (!v || !/^[0-9a-fA-F]{64}$/.test(v)) {
        io.stderr('--head needs a SHA-256 hex digest\n');
        return 2;
      }
      options.expectedHead = v.toLowerCase();
    } else if (a === '--count') {
      const v = Number(rest[++i]);
      if (!Number.isInteger(v) || v < 0) {
        io.stderr('--count needs a non-negative integer\n');
        return 2;
      }
      options.expectedCount = v;
    } else if (a.startsWith('--')) {
      io.stderr(`unknown option ${a}\n${EVIDENCE_USAGE}`);
      return 2;
    } else if (file === undefined) file = a;
    else {
      io.stderr(EVIDENCE_USAGE);
      return 2;
    }
  }
  if (file === undefined) {
    io.stderr(EVIDENCE_USAGE);
    return 2;
  }
  let text: string;
  try {
    text = file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    io.stderr(`cannot read ${file}: ${(err as Error).message}\n`);
    return 2;
  }
  const result = verify(text, options);
  if (json) {
    io.stdout(`${JSON.stringify(result)}\n`);
  } else if (result.ok) {
    const anchored = options.expectedHead ? ', anchored head found' : ' (pass --head to also prove nothing was cut off the end)';
    const redacted = result.redactedValues > 0 ? `; ${result.redactedValues} personal value(s) anonymised, chain intact` : '';
    io.stdout(`OK: ${result.entries} entries, head ${result.head?.hash ?? '-'}${anchored}${redacted}\n`);
  } else {
    io.stdout(`NOT INTACT: ${result.problem} entry ${result.seq} (line ${result.line}): ${result.message}\n`);
  }
  return result.ok ? 0 : 1;
}
