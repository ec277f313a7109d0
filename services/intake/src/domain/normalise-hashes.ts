import { HASH_HEX_LENGTH, type HashesValue, type HashTypeValue } from '@hashcheck/events';

export type HashesResult = { ok: true; hashes: HashesValue } | { ok: false; reasons: string[] };

/** Hashes of empty input: a report carrying one hashed nothing (a failed download), not content. */
const EMPTY_CONTENT: Partial<Record<HashTypeValue, string>> = {
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
  sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

const ORDER: HashTypeValue[] = ['md5', 'sha1', 'sha256', 'pdq'];

/** Lower-case hex of the right length per type; at least one hash; no hash of empty content. */
export function normaliseHashes(input: Record<string, unknown>): HashesResult {
  const reasons: string[] = [];
  const out: HashesValue = {} as HashesValue;
  for (const key of Object.keys(input)) {
    if (!(ORDER as string[]).includes(key)) reasons.push(`hashes.${key} is not a supported hash type (md5, sha1, sha256, pdq)`);
  }
  for (const type of ORDER) {
    const v = input[type];
    if (v === undefined) continue;
    if (typeof v !== 'string') {
      reasons.push(`hashes.${type} must be a hex string`);
      continue;
    }
    const hex = v.trim().toLowerCase();
    const len = HASH_HEX_LENGTH[type];
    if (!/^[0-9a-f]*$/.test(hex)) reasons.push(`hashes.${type} must be hexadecimal`);
    else if (hex.length !== len) reasons.push(`hashes.${type} must be ${len} hex digits, got ${hex.length}`);
    else if (EMPTY_CONTENT[type] === hex) reasons.push(`hashes.${type} is the hash of empty content`);
    else if (type === 'pdq' && /^0+$/.test(hex)) reasons.push('hashes.pdq is all zeros (no perceptual information)');
    else out[type] = hex;
  }
  if (reasons.length === 0 && Object.keys(out).length === 0) reasons.push('hashes must contain at least one of md5, sha1, sha256, pdq');
  return reasons.length > 0 ? { ok: false, reasons } : { ok: true, hashes: out };
}
