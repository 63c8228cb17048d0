import { SignJWT } from 'jose';
import { parseDuration } from './duration';

export interface MintTokenOptions {
  secret: string;
  subject: string;
  /** Space-separated scopes, e.g. "ops:admin accounts:read". */
  scope: string;
  /** Lifetime: seconds, or a string like "15m", "12h", "7d". */
  ttl: number | string;
  issuer?: string;
  audience?: string;
}

/** Parses "15m" style durations into whole seconds (at least 1); a bare number means seconds. */
export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : parseDuration(value);
  return Math.max(1, Math.round(ms / 1000));
}

/** Mints an HS256 token the MCP server accepts. Used by the workers and `npm run token`. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ scope: options.scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + durationSeconds(options.ttl));
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}
