import { ErrorCode, HashCheckError } from '@hashcheck/errors';

const BEARER = /^Bearer\s+(\S+)$/i;
const BASIC = /^Basic\s+([A-Za-z0-9+/=]+)$/i;

/** The key of `Authorization: Bearer <key>`, or a 401 that tells the caller what to send. */
export function bearerToken(header: string | undefined): string {
  const m = header ? BEARER.exec(header) : null;
  if (!m) throw new HashCheckError(ErrorCode.UNAUTHORIZED, 'send an API key: Authorization: Bearer <key>');
  return m[1]!;
}

/** `Authorization: Basic base64(user:password)` as its two parts, or undefined when it is not that. */
export function parseBasicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = header ? BASIC.exec(header) : null;
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
