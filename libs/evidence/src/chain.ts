import { createHash } from 'node:crypto';
import { canonicalize, toJsonValue, type JsonValue } from './canonical';
import { countRedacted, hashForm, redact, redactableProblems } from './redactable';

/**
 * One line of an evidence file. `hash` is the SHA-256 (hex) of the canonical JSON of
 * `{seq, at, kind, data, prevHash}` (with redactable values reduced to their digest), so each
 * entry commits to everything before it.
 */
export interface EvidenceEntry {
  seq: number;
  at: string;
  kind: string;
  data: JsonValue;
  prevHash: string;
  hash: string;
}

export interface EntryDraft {
  at: Date | string;
  kind: string;
  data: unknown;
}

/** What a writer needs to know about the log so far to append to it. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** The `prevHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

const ENTRY_KEYS = ['seq', 'at', 'kind', 'data', 'prevHash', 'hash'] as const;
const HEX64 = /^[0-9a-f]{64}$/;

export function entryHash(entry: Omit<EvidenceEntry, 'hash'>): string {
  const body = { seq: entry.seq, at: entry.at, kind: entry.kind, data: hashForm(entry.data), prevHash: entry.prevHash };
  return createHash('sha256').update(canonicalize(body)).digest('hex');
}

/** The next entry after `head` (undefined for an empty log). */
export function nextEntry(head: ChainHead | undefined, draft: EntryDraft): EvidenceEntry {
  if (!draft.kind) throw new TypeError('evidence entry needs a kind');
  const at = typeof draft.at === 'string' ? new Date(draft.at) : draft.at;
  if (Number.isNaN(at.getTime())) throw new TypeError('evidence entry needs a valid time');
  const partial = {
    seq: (head?.seq ?? 0) + 1,
    at: at.toISOString(),
    kind: draft.kind,
    data: toJsonValue(draft.data ?? null),
    prevHash: head?.hash ?? GENESIS_HASH,
  };
  return { ...partial, hash: entryHash(partial) };
}

/** Entries for several drafts in order, chained onto `head`. */
export function appendEntries(head: ChainHead | undefined, drafts: readonly EntryDraft[]): EvidenceEntry[] {
  const out: EvidenceEntry[] = [];
  let h = head;
  for (const d of drafts) {
    const e = nextEntry(h, d);
    out.push(e);
    h = { seq: e.seq, hash: e.hash };
  }
  return out;
}

export function headOf(entries: readonly EvidenceEntry[]): ChainHead | undefined {
  const last = entries[entries.length - 1];
  return last ? { seq: last.seq, hash: last.hash } : undefined;
}

/** The same entry with personal values erased; its hash, and so the chain, is unchanged. */
export function redactEntry(entry: EvidenceEntry): EvidenceEntry {
  return { ...entry, data: redact(entry.data) };
}

/** One JSON object per line, fields in a fixed order, newline-terminated. */
export function toNdjson(entries: Iterable<EvidenceEntry>): string {
  let out = '';
  for (const e of entries) out += `${JSON.stringify({ seq: e.seq, at: e.at, kind: e.kind, data: e.data, prevHash: e.prevHash, hash: e.hash })}\n`;
  return out;
}

export const VerifyProblem = {
  MALFORMED: 'malformed',
  ALTERED: 'altered',
  MISSING: 'missing',
  OUT_OF_ORDER: 'out-of-order',
} as const;
export type VerifyProblemValue = (typeof VerifyProblem)[keyof typeof VerifyProblem];

export type VerifyResult =
  | { ok: true; entries: number; head: ChainHead | undefined; redactedValues: number }
  | {
      ok: false;
      problem: VerifyProblemValue;
      /** The first entry that is altered or missing (by sequence number). */
      seq: number;
      /** 1-based line of the file where the problem showed. */
      line: number;
      message: string;
      /** Entries before `seq` that verified. */
      verifiedEntries: number;
    };

export interface VerifyOptions {
  /**
   * A head hash known from outside the file (published in an event, printed on a decision).
   * Without one a file cut short at the end still verifies: only an anchor can prove the tail.
   */
  expectedHead?: string;
  /** The number of entries the file must hold at least. */
  expectedCount?: number;
}

function splitLines(input: string | Iterable<string>): Iterable<string> {
  return typeof input === 'string' ? input.split('\n') : input;
}

/**
 * Checks a whole evidence file (text or lines) and names the first altered or missing entry.
 * Blank lines are ignored; every other line must be one entry.
 */
export function verify(input: string | Iterable<string>, options: VerifyOptions = {}): VerifyResult {
  let prev: ChainHead | undefined;
  let lineNo = 0;
  let redactedValues = 0;
  const seen = new Set<string>();
  const fail = (problem: VerifyProblemValue, seq: number, message: string): VerifyResult => ({
    ok: false, problem, seq, line: lineNo, message, verifiedEntries: prev?.seq ?? 0,
  });

  for (const raw of splitLines(input)) {
    lineNo += 1;
    const text = raw.trim();
    if (text === '') continue;
    const expected = (prev?.seq ?? 0) + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail(VerifyProblem.MALFORMED, expected, `line ${lineNo} is not valid JSON (entry ${expected} expected there)`);
    }
    const shape = shapeProblem(parsed);
    if (shape) return fail(VerifyProblem.MALFORMED, expected, `line ${lineNo}: ${shape} (entry ${expected} expected there)`);
    const entry = parsed as EvidenceEntry;
    if (entry.seq > expected) {
      const last = entry.seq - 1;
      return fail(VerifyProblem.MISSING, expected, last === expected ? `entry ${expected} is missing (line ${lineNo} holds entry ${entry.seq})` : `entries ${expected}..${last} are missing (line ${lineNo} holds entry ${entry.seq})`);
    }
    if (entry.seq < expected) {
      return fail(VerifyProblem.OUT_OF_ORDER, entry.seq, `line ${lineNo} holds entry ${entry.seq} again or out of order (entry ${expected} expected)`);
    }
    const valueProblems = redactableProblems(entry.data);
    if (valueProblems.length > 0) return fail(VerifyProblem.ALTERED, entry.seq, `entry ${entry.seq} is altered: ${valueProblems[0]}`);
    let recomputed: string;
    try {
      recomputed = entryHash(entry);
    } catch (err) {
      // Parsed JSON is always canonicalisable; this guards entries handed over as objects.
      return fail(VerifyProblem.MALFORMED, expected, `line ${lineNo}: ${(err as Error).message}`);
    }
    if (recomputed !== entry.hash) {
      return fail(VerifyProblem.ALTERED, entry.seq, `entry ${entry.seq} is altered: its content does not match its hash`);
    }
    const prevHash = prev?.hash ?? GENESIS_HASH;
    if (entry.prevHash !== prevHash) {
      if (!prev) return fail(VerifyProblem.ALTERED, 1, 'entry 1 is altered: it does not start from the genesis hash');
      // The entry is consistent in itself, so what it was chained to is not what the file holds:
      // the previous entry was changed and its hash recomputed to hide it.
      return fail(VerifyProblem.ALTERED, prev.seq, `entry ${prev.seq} is altered: entry ${entry.seq} was chained to a different entry ${prev.seq} (hash ${entry.prevHash.slice(0, 12)}…, file has ${prev.hash.slice(0, 12)}…)`);
    }
    redactedValues += countRedacted(entry.data);
    prev = { seq: entry.seq, hash: entry.hash };
    seen.add(entry.hash);
  }

  const count = prev?.seq ?? 0;
  if (options.expectedCount !== undefined && count < options.expectedCount) {
    lineNo += 1;
    return fail(VerifyProblem.MISSING, count + 1, `the file ends after entry ${count}; at least ${options.expectedCount} entries were expected, so entry ${count + 1} is missing`);
  }
  if (options.expectedHead !== undefined && !seen.has(options.expectedHead.toLowerCase())) {
    lineNo += 1;
    return fail(VerifyProblem.MISSING, count + 1, `the anchored head ${options.expectedHead.slice(0, 12)}… is not in the chain: entries after ${count} are missing, or the file was rewritten`);
  }
  return { ok: true, entries: count, head: prev, redactedValues };
}

function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => !(ENTRY_KEYS as readonly string[]).includes(k));
  if (extra.length > 0) return `fields outside the chain: ${extra.join(', ')}`;
  if (typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq) || v.seq < 1) return 'seq is not a positive integer';
  if (typeof v.at !== 'string' || Number.isNaN(Date.parse(v.at))) return 'at is not a time';
  if (typeof v.kind !== 'string' || v.kind === '') return 'kind is missing';
  if (!('data' in v)) return 'data is missing';
  if (typeof v.prevHash !== 'string' || !HEX64.test(v.prevHash)) return 'prevHash is not a SHA-256 hex digest';
  if (typeof v.hash !== 'string' || !HEX64.test(v.hash)) return 'hash is not a SHA-256 hex digest';
  return undefined;
}

/** Parses a file that `verify` accepted. */
export function parseNdjson(text: string): EvidenceEntry[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as EvidenceEntry);
}
