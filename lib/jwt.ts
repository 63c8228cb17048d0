import { SignJWT } from 'jose';
import { parseDuration } from './duration';
import { workerKey } from './worker-key';

export interface MintTokenOptions {
  /** HS256 shared secret (JWT_SECRET). Give this or `privateKey`. */
  secret?: string;
  /** The workers' Ed25519 private key (WORKERS_JWT_PRIVATE_KEY): an EdDSA token the server accepts for the ops scopes only. */
  privateKey?: string;
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

/** Mints a token the MCP server accepts: HS256 from a secret (`npm run token`), or EdDSA from the workers' key. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const alg = options.privateKey ? 'EdDSA' : 'HS256';
  let jwt = new SignJWT({ scope: options.scope })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + durationSeconds(options.ttl));
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  if (options.privateKey) return jwt.sign(workerKey(options.privateKey, 'private', 'WORKERS_JWT_PRIVATE_KEY'));
  if (!options.secret) throw new Error('mintToken needs a secret or a private key');
  return jwt.sign(new TextEncoder().encode(options.secret));
}
