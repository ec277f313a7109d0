import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, HashCheckError } from '@hashcheck/errors';

/** A key from configuration: only its SHA-256 is configured, never the key itself. */
export interface StaticKey<S extends string> {
  name: string;
  scopes: S[];
  sha256: Buffer;
}

const NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Parses `name:scope[+scope]:sha256hex` entries, comma-separated, from the variable `variable`
 * (the keys are handed to their holders; generate with `openssl rand -hex 32`, hash with
 * `printf %s "$KEY" | sha256sum`). A bad entry stops the boot with a message naming the variable
 * and the entry, never echoing anything that could be a key.
 */
export function parseStaticKeys<S extends string>(text: string | undefined, options: { variable: string; scopes: readonly S[] }): StaticKey<S>[] {
  if (!text || text.trim() === '') return [];
  const seen = new Set<string>();
  return text.split(',').map((raw, i) => {
    const [name, scopes, hash, ...rest] = raw.trim().split(':');
    const where = `${options.variable} entry ${i + 1}`;
    if (!name || !scopes || !hash || rest.length > 0) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where} must be name:scope[+scope]:sha256hex`);
    if (!NAME.test(name) || name.length > 64) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name ${name} must be a lower-case slug`);
    if (seen.has(name)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: name ${name} appears twice`);
    seen.add(name);
    const list = scopes.split('+');
    for (const s of list) {
      if (!(options.scopes as readonly string[]).includes(s)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: unknown scope ${s} (${options.scopes.join(', ')})`);
    }
    if (!SHA256_HEX.test(hash)) throw new HashCheckError(ErrorCode.CONFIG_INVALID, `${where}: give the key as its sha256 (64 hex digits), never in clear`);
    return { name, scopes: list as S[], sha256: Buffer.from(hash, 'hex') };
  });
}

/** Who holds a configured key: its name and scopes, not its hash. */
export interface StaticPrincipal<S extends string> {
  name: string;
  scopes: S[];
}

/** Who the presented key belongs to. Every entry is compared, each in constant time. */
export function authenticateStatic<S extends string>(entries: readonly StaticKey<S>[], presented: string): StaticPrincipal<S> | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: StaticKey<S> | undefined;
  for (const e of entries) if (timingSafeEqual(e.sha256, digest)) found = e;
  return found ? { name: found.name, scopes: found.scopes } : undefined;
}
