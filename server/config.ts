import { z } from 'zod';
import { CommonEnvShape, JwtEnvShape, httpUrl, parseEnv, port, positiveInt } from '../lib/config';

/** Everything the MCP Financial Server reads from env, with the seed's knob names and defaults. */
export const ServerEnvSchema = z
  .object({
    ...CommonEnvShape,
    ...JwtEnvShape,
    SERVER_PORT: port(3000),
    JWT_JWKS_URL: httpUrl().optional(),
    ACCOUNT_SERVICE_URL: httpUrl().default('http://127.0.0.1:4001'),
    TRANSACTION_SERVICE_URL: httpUrl().default('http://127.0.0.1:4002'),
    HTTP_POOL_SIZE: positiveInt(20),
    HTTP_POOL_MAXSIZE: positiveInt(100),
    HTTP_TIMEOUT: positiveInt(5000),
    CONNECT_TIMEOUT: positiveInt(2000),
    CIRCUIT_BREAKER_FAILURE_THRESHOLD: positiveInt(3),
    CIRCUIT_BREAKER_RECOVERY_TIMEOUT: positiveInt(30),
    /** The seed's maintenance switch: a file holding `maintenance`. */
    MAINTENANCE_STATUS_FILE: z.string().min(1).default('/tmp/mcp-financial-ops/status'),
    /** Express trust-proxy syntax (e.g. `loopback`); unset trusts no proxy. */
    TRUST_PROXY: z.string().optional(),
  })
  .refine((env) => env.JWT_SECRET || env.JWT_JWKS_URL, {
    message: 'set JWT_SECRET (HS256) or JWT_JWKS_URL (RS256/ES256)',
    path: ['JWT_SECRET'],
  })
  .refine((env) => env.HTTP_POOL_MAXSIZE >= env.HTTP_POOL_SIZE, {
    message: 'must be >= HTTP_POOL_SIZE',
    path: ['HTTP_POOL_MAXSIZE'],
  });

export type ServerEnv = z.output<typeof ServerEnvSchema>;

export function loadServerEnv(env: NodeJS.ProcessEnv = process.env): ServerEnv {
  return parseEnv(ServerEnvSchema, env);
}
