const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `15m`, `24h`, `2d`, `500ms`, or plain milliseconds. Returns undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = (m[2] ?? 'ms') as keyof typeof UNIT_MS;
  const ms = Math.round(value * UNIT_MS[unit]);
  return Number.isFinite(ms) ? ms : undefined;
}

/** `a=24h,b=1h` -> { a: 86400000, b: 3600000 }; throws naming the bad entry (config is validated at boot). */
export function parseDurationMap(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq).trim() : '';
    const ms = eq > 0 ? parseDuration(entry.slice(eq + 1)) : undefined;
    if (key === '' || ms === undefined || ms <= 0) throw new Error(`bad entry "${entry}": expected category=duration, e.g. hosting-nl=24h`);
    out[key] = ms;
  }
  return out;
}
