import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { NextFunction, Request, Response } from 'express';
import type { AuthFailureLog } from './auth-failures';
import { clientIp } from './client-ip';
import { JwtVerificationError, type JwtVerifier } from './jwt-verifier';

export interface BearerAuthConfig {
  verifier: JwtVerifier;
  failures: AuthFailureLog;
  /** The RFC 9728 metadata URL the 401's WWW-Authenticate points at. */
  resourceMetadataUrl(req: Request): string;
}

/**
 * The SDK's `requireBearerAuth` (401 + WWW-Authenticate, expiry check) with our
 * JWT verifier behind it. Every refusal is counted and logged with the client
 * address; the verifier is bound per request only so it knows that address.
 */
export function createBearerAuth(config: BearerAuthConfig) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const ip = clientIp(req);
    const header = req.headers.authorization;
    if (!header) config.failures.record('missing', ip);
    else if (!/^bearer [^ ]+$/i.test(header)) config.failures.record('malformed', ip);

    const verifyAccessToken = async (token: string): Promise<AuthInfo> => {
      try {
        const v = await config.verifier.verify(token);
        return {
          token,
          clientId: v.clientId,
          scopes: [...v.scopes],
          expiresAt: v.expiresAt,
          extra: { sub: v.subject, clientIp: ip, jti: v.payload.jti },
        };
      } catch (err) {
        if (!(err instanceof JwtVerificationError)) throw err;
        config.failures.record(err.reason, ip);
        if (err.reason === 'jwks_unavailable') throw new ServerError(err.message);
        throw new InvalidTokenError(err.message);
      }
    };
    await requireBearerAuth({ verifier: { verifyAccessToken }, resourceMetadataUrl: config.resourceMetadataUrl(req) })(req, res, next);
  };
}
