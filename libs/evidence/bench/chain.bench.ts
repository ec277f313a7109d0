/**
 * Evidence chain throughput: appending entries (canonical JSON + SHA-256 per entry) and verifying
 * an exported file, against the floor of hashing the same bytes with no canonicalisation.
 */
import { createHash } from 'node:crypto';
import { appendEntries, redactable, toNdjson, verify, type EntryDraft } from '@hashcheck/evidence';

const N = 20_000;
const drafts: EntryDraft[] = Array.from({ length: N }, (_, i) => ({
  at: new Date(Date.UTC(2025, 0, 1) + i * 1000),
  kind: i % 3 === 0 ? 'notice.sent' : i % 3 === 1 ? 'escalation.issued' : 'observation.still-online',
  data: { caseId: `case-${i % 97}.1`, step: 'renotice', url: redactable(`https://files.example/${i}.jpg`), deadlineAt: new Date(Date.UTC(2025, 0, 2) + i * 1000).toISOString(), attempt: i % 5 },
}));

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

time(() => appendEntries(undefined, drafts.slice(0, 2000))); // warm-up
const append = time(() => appendEntries(undefined, drafts));
const text = toNdjson(append.value);
const check = time(() => verify(text));
if (!check.value.ok) throw new Error('benchmark log does not verify');
const floor = time(() => {
  let prev = '';
  for (const line of text.split('\n')) prev = createHash('sha256').update(prev + line).digest('hex');
  return prev;
});

const appendRate = N / (append.ms / 1000);
const verifyRate = N / (check.ms / 1000);
const floorRate = N / (floor.ms / 1000);
console.log(`${N} entries, ${(text.length / 1e6).toFixed(1)} MB NDJSON`);
console.log(`append  ${appendRate.toFixed(0)} entries/s`);
console.log(`verify  ${verifyRate.toFixed(0)} entries/s (${(text.length / 1e6 / (check.ms / 1000)).toFixed(1)} MB/s)`);
console.log(`floor   ${floorRate.toFixed(0)} entries/s (plain SHA-256 chain over the same lines)`);
console.log(JSON.stringify({ results: [
  { name: 'evidence append', value: Math.round(appendRate), unit: 'entries/s' },
  { name: 'evidence verify', value: Math.round(verifyRate), unit: 'entries/s', baseline: Math.round(floorRate), ratio: Number((verifyRate / floorRate).toFixed(3)) },
] }));
