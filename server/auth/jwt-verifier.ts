import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { CodedError, ErrorCode } from '../../lib/errors';
import { workerKey } from '../../lib/worker-key';
import { createTokenCache, type TokenCacheOptions } from './token-cache';

/** Why a token was refused; the label of `jwt_validation_failures_total`. Keep this set small. */
export type JwtFailureReason =
  | 'missing'
  | 'malformed'
  | 'alg'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'lifetime'
  | 'subject'
  | 'jwks_unavailable';

export class JwtVerificationError extends CodedError {
  readonly reason: JwtFailureReason;
  constructor(reason: JwtFailureReason, message: string) {
    super(ErrorCode.Unauthorized, message, { reason });
    this.name = 'JwtVerificationError';
    this.reason = reason;
  }
}

export interface JwtVerifierConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** JWKS endpoint for RS256/ES256 keys (fetched once, cached, refetched on an unknown `kid`). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /**
   * The workers' Ed25519 key (WORKERS_JWT_PUBLIC_KEY) and the scopes a token it signs may carry at most
   * (WORKERS_JWT_SCOPES): an EdDSA token is checked against this key only, and one asking for more is refused.
   */
  workers?: { publicKey: string; scopes: readonly string[] };
  /** Allowed clock skew for exp/nbf. @defaultValue 30 */
  /** Allowed clock skew for exp/nbf/iat. @defaultValue 30 */
  clockToleranceSec?: number;
  /**
   * Longest lifetime accepted: `exp - iat` (or `exp - now` without `iat`). A
   * stolen token must not work for a year, and one "issued" in the future is refused.
   * @defaultValue 86400 (24 h)
   */
  maxLifetimeSec?: number;
  /**
   * Remember verified tokens (see token-cache.ts: exact token, successes only,
   * until min(exp, now + 60 s), bounded LRU); `false` verifies every time.
   * @defaultValue {}
   */
  cache?: TokenCacheOptions | false;
}

export interface VerifiedToken {
  subject: string;
  clientId: string;
  scopes: readonly string[];
  /** Seconds since epoch: `exp` plus the clock tolerance, the last instant we accept the token. */
  expiresAt: number;
  payload: JWTPayload;
}

const HMAC_ALGS = ['HS256'];
const ASYMMETRIC_ALGS = ['RS256', 'ES256'];
const WORKER_ALGS = ['EdDSA'];

/**
 * Verifies bearer JWTs. Algorithms are pinned per key source: an HS256 token
 * is only ever checked against JWT_SECRET and an RS/ES token only against the
 * JWKS, so a token "signed" with the public key as an HMAC secret never passes.
 */
export function createJwtVerifier(config: JwtVerifierConfig) {
  if (!config.secret && !config.jwksUrl && !config.workers) throw new CodedError(ErrorCode.ConfigInvalid, 'JWT verifier needs a secret or a JWKS URL');
  const secretKey = config.secret ? new TextEncoder().encode(config.secret) : undefined;
  const jwks = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 }) : undefined;
  const workersKey = config.workers ? workerKey(config.workers.publicKey, 'public', 'WORKERS_JWT_PUBLIC_KEY') : undefined;
  const allowed = [...(secretKey ? HMAC_ALGS : []), ...(jwks ? ASYMMETRIC_ALGS : []), ...(workersKey ? WORKER_ALGS : [])];
  const clockTolerance = config.clockToleranceSec ?? 30;
  const maxLifetime = config.maxLifetimeSec ?? 86_400;
  const cache = config.cache === false ? undefined : createTokenCache<VerifiedToken>(config.cache);

  async function verify(token: string): Promise<VerifiedToken> {
    const hit = cache?.get(token);
    if (hit) return hit;
    const verified = await verifyUncached(token);
    cache?.set(token, verified, verified.payload.exp!);
    return verified;
  }

  async function verifyUncached(token: string): Promise<VerifiedToken> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new JwtVerificationError('malformed', 'token is not a well-formed JWT');
    }
    if (!alg || !allowed.includes(alg)) throw new JwtVerificationError('alg', `algorithm "${alg ?? 'none'}" is not accepted`);
    const byWorkers = WORKER_ALGS.includes(alg);
    const options = {
      algorithms: HMAC_ALGS.includes(alg) ? HMAC_ALGS : byWorkers ? WORKER_ALGS : ASYMMETRIC_ALGS,
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance,
      requiredClaims: ['exp', 'sub'],
    };
    let payload: JWTPayload;
    try {
      payload = HMAC_ALGS.includes(alg)
        ? (await jwtVerify(token, secretKey!, options)).payload
        : byWorkers
          ? (await jwtVerify(token, workersKey!, options)).payload
          : (await jwtVerify(token, jwks!, options)).payload;
    } catch (err) {
      throw classify(err);
    }
    // The workers' key is an issuer restricted by scope: it may sign the ops scopes, nothing else.
    const beyond = byWorkers ? scopesOf(payload).filter((s) => !config.workers!.scopes.includes(s)) : [];
    if (beyond.length) throw new JwtVerificationError('issuer', `the workers' key may not grant ${beyond.join(' ')}`);
    if (typeof payload.sub !== 'string' || payload.sub.trim() === '') throw new JwtVerificationError('subject', 'token subject (sub) must be a non-empty string');
    const nowSec = Math.floor(Date.now() / 1000);
    if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > nowSec + clockTolerance)) {
      throw new JwtVerificationError('not_yet_valid', 'token issued in the future');
    }
    const start = typeof payload.iat === 'number' ? payload.iat : nowSec;
    if (payload.exp! - start > maxLifetime) throw new JwtVerificationError('lifetime', `token lifetime exceeds ${maxLifetime} s`);
    // Frozen: a cached result is shared by every request that presents this token.
    return Object.freeze({
      subject: payload.sub!,
      clientId: stringClaim(payload.client_id) ?? stringClaim(payload.azp) ?? payload.sub!,
      scopes: Object.freeze(scopesOf(payload)),
      expiresAt: payload.exp! + clockTolerance,
      payload: Object.freeze(payload),
    });
  }

  return { verify, cacheSize: () => cache?.size ?? 0 };
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>;

function stringClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** `scope` is space-separated (RFC 8693); some issuers send an array in `scp`. */
export function scopesOf(payload: JWTPayload): string[] {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter(Boolean);
  if (Array.isArray(payload.scp)) return payload.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

function classify(err: unknown): JwtVerificationError {
  if (err instanceof errors.JWTExpired) return new JwtVerificationError('expired', 'token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new JwtVerificationError('not_yet_valid', 'token is not valid yet');
    if (err.claim === 'iss') return new JwtVerificationError('issuer', 'token issuer is not accepted');
    if (err.claim === 'aud') return new JwtVerificationError('audience', 'token audience is not accepted');
    if (err.claim === 'iat') return new JwtVerificationError('not_yet_valid', 'token issued in the future');
    return new JwtVerificationError('malformed', `token claim "${err.claim}" is invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new JwtVerificationError('alg', 'token algorithm is not accepted');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
    return new JwtVerificationError('signature', 'token signature is invalid');
  }
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new JwtVerificationError('jwks_unavailable', 'signing keys are unavailable');
  }
  if (err instanceof errors.JOSEError) return new JwtVerificationError('malformed', 'token is malformed');
  // fetch failures of the JWKS endpoint surface as plain errors
  return new JwtVerificationError('jwks_unavailable', 'signing keys are unavailable');
}
