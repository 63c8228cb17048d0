import { InvalidTokenError, OAuthError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
// For its `req.auth` typing on Express requests, which the SDK's transport reads.
import type {} from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { NextFunction, Request, Response } from 'express';
import type { AuthFailureLog } from './auth-failures';
import { clientIp } from './client-ip';
import { JwtVerificationError, type JwtVerifier } from './jwt-verifier';
import { bearerChallenge } from './www-authenticate';

export interface BearerAuthConfig {
  verifier: JwtVerifier;
  failures: AuthFailureLog;
  /** The RFC 9728 metadata URL the 401's WWW-Authenticate points at; asked only when refusing. */
  resourceMetadataUrl(req: Request): string;
}

/**
 * Bearer-token authentication for /mcp, answering as the SDK's
 * `requireBearerAuth` does (401 + `WWW-Authenticate: Bearer error=...,
 * resource_metadata=...`, the OAuth error body, 500 when the signing keys
 * cannot be fetched), with our JWT verifier behind it. Every refusal is
 * counted and logged with the client address.
 *
 * Why not the SDK middleware itself: it takes the metadata URL and the
 * verifier up front, so it had to be rebuilt on every request to know the
 * client address and the Host-derived URL, and the URL was parsed even for
 * the requests that pass. Here both are worked out only for a refusal.
 */
export function createBearerAuth(config: BearerAuthConfig) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization;
    try {
      if (!header) throw refuse('missing', 'Missing Authorization header');
      if (!/^bearer [^ ]+$/i.test(header)) throw refuse('malformed', "Invalid Authorization header format, expected 'Bearer TOKEN'");
      const token = header.slice(7);
      const v = await config.verifier.verify(token).catch((err: unknown) => {
        if (!(err instanceof JwtVerificationError)) throw err;
        throw refuse(err.reason, err.message);
      });
      // The verifier accepts up to exp + clock skew and its cache never outlives exp; this is the last word.
      if (v.expiresAt < Date.now() / 1000) throw refuse('expired', 'Token has expired');
      req.auth = {
        token,
        clientId: v.clientId,
        scopes: [...v.scopes],
        expiresAt: v.expiresAt,
        extra: { sub: v.subject, clientIp: clientIp(req), jti: v.payload.jti },
      };
      next();
    } catch (err) {
      if (err instanceof Refusal) {
        config.failures.record(err.reason, clientIp(req));
        const error = err.reason === 'jwks_unavailable' ? new ServerError(err.message) : new InvalidTokenError(err.message);
        // RFC 6750 §3.1: a request with no credentials gets a challenge without an error code.
        answer(res, error, config.resourceMetadataUrl(req), err.reason !== 'missing');
        return;
      }
      answer(res, new ServerError('Internal Server Error'));
    }
  };
}

/** A refused token: why (the metric label) and what the client is told. */
class Refusal extends Error {
  constructor(
    readonly reason: JwtVerificationError['reason'],
    message: string,
  ) {
    super(message);
  }
}

const refuse = (reason: JwtVerificationError['reason'], message: string) => new Refusal(reason, message);

function answer(res: Response, error: OAuthError, resourceMetadataUrl?: string, withError = true): void {
  if (error instanceof InvalidTokenError) {
    const challenge = withError
      ? bearerChallenge({ error: 'invalid_token', description: error.message, resourceMetadata: resourceMetadataUrl })
      : bearerChallenge({ resourceMetadata: resourceMetadataUrl });
    res.set('WWW-Authenticate', challenge);
    res.status(401).json(error.toResponseObject());
    return;
  }
  res.status(500).json(error.toResponseObject());
}
