import { SignJWT } from 'jose';
import { z } from 'zod';
import { ValidationError } from './errors';

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

const DurationSchema = z.string().regex(/^\d+(ms|s|m|h|d)?$/, 'must be a duration such as 90s, 15m, 12h or 7d');

/** Parses "15m" style durations into seconds. */
export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const parsed = DurationSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(`invalid duration "${value}": ${parsed.error.issues[0]?.message}`);
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value)!;
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[unit]!;
  return Math.max(1, Math.round(n * factor));
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
