import { z } from 'zod';
import { CommonEnvShape, JwtEnvShape, httpUrl, parseEnv, port, positiveInt } from '../lib/config';
import { isKnownScope } from '../lib/scopes';
import { isWorkerKey, WORKER_SCOPES } from '../lib/worker-key';

/** Everything the MCP Financial Server reads from env, with the seed's knob names and defaults. */
export const ServerEnvSchema = z
  .object({
    ...CommonEnvShape,
    ...JwtEnvShape,
    SERVER_PORT: port(3000),
    JWT_JWKS_URL: httpUrl().optional(),
    /**
     * The workers' Ed25519 public key (PEM, or base64 SPKI DER): EdDSA tokens it verifies are accepted
     * for WORKERS_JWT_SCOPES only, so a worker's key can never grant a finance scope.
     */
    WORKERS_JWT_PUBLIC_KEY: z
      .string()
      .refine((v) => isWorkerKey(v, 'public'), 'must be an Ed25519 public key (PEM, or base64 SPKI DER)')
      .optional(),
    /** The most a workers' token may carry (space-separated). */
    WORKERS_JWT_SCOPES: z
      .string()
      .default(WORKER_SCOPES.join(' '))
      .transform((v) => v.split(/\s+/).filter(Boolean))
      .refine((scopes) => scopes.every(isKnownScope), 'unknown scope (see lib/scopes.ts)'),
    /** Longest token lifetime accepted (exp - iat), in seconds; a token issued in the future is refused too. */
    JWT_MAX_TOKEN_LIFETIME: positiveInt(86_400),
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
    /** This server's public /mcp URL (RFC 9728 `resource`); derived from the request when unset. */
    MCP_RESOURCE_URL: httpUrl().optional(),
    /** Comma-separated authorization server URLs advertised in the protected-resource metadata. */
    OAUTH_AUTHORIZATION_SERVERS: urlList().optional(),
    /** Comma-separated `host[:port]` the /mcp endpoint answers (DNS rebinding); default: the bound host and port. */
    MCP_ALLOWED_HOSTS: hostList().default(''),
    /** Comma-separated origins (`https://agent.example.com`) a browser client may call from; default: the bound host's. */
    MCP_ALLOWED_ORIGINS: urlList().default(''),
    /** Comma-separated CIDRs that ops_block_ip must never block (e.g. the office, the load balancer). */
    IP_ALLOWLIST: z.string().default(''),
    /** Broadest IPv4 prefix ops_block_ip accepts (a /8 would cut off a continent). */
    IP_BLOCK_MAX_PREFIX: z.coerce.number().int().min(0).max(32).default(16),
    IP_BLOCK_MAX_PREFIX_V6: z.coerce.number().int().min(0).max(128).default(48),
    /** Comma-separated files/directories ops_backup_create archives (relative to the working directory, or absolute). */
    BACKUP_PATHS: z.string().default('config,runbooks,monitoring'),
    /** What `ops_backup_create {kind}` archives for the other kinds (comma-separated; unset: that kind is refused with a clear error). */
    BACKUP_LOGS_PATHS: z.string().default(''),
    BACKUP_METRICS_PATHS: z.string().default(''),
    BACKUP_STATE_PATHS: z.string().default(''),
    BACKUP_DIR: z.string().min(1).default('/tmp/mcp-financial-ops/backups'),
    EVIDENCE_DIR: z.string().min(1).default('/tmp/mcp-financial-ops/evidence'),
    /** The release label the platform runs this server as (set by `npm start`'s supervisor); reported by /health. */
    MCP_RELEASE: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'expected a release label like v1.2.3').optional(),
    /** Recent log lines kept in memory for ops_collect_evidence. */
    LOG_RING_SIZE: positiveInt(2000),
  })
  .refine((env) => env.JWT_SECRET || env.JWT_JWKS_URL || env.WORKERS_JWT_PUBLIC_KEY, {
    message: 'set JWT_SECRET (HS256) or JWT_JWKS_URL (RS256/ES256)',
    path: ['JWT_SECRET'],
  })
  .refine((env) => env.HTTP_POOL_MAXSIZE >= env.HTTP_POOL_SIZE, {
    message: 'must be >= HTTP_POOL_SIZE',
    path: ['HTTP_POOL_MAXSIZE'],
  });

const items = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function urlList() {
  return z.string().refine(
    (text) => items(text).every((u) => /^https?:\/\/[^/?#\s]+/.test(u) && URL.canParse(u)),
    'must be comma-separated http(s) URLs',
  );
}

function hostList() {
  return z.string().refine(
    (text) => items(text).every((h) => /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(h)),
    'must be comma-separated host or host:port entries (IPv6 in brackets)',
  );
}

export type ServerEnv = z.output<typeof ServerEnvSchema>;

export function loadServerEnv(env: NodeJS.ProcessEnv = process.env): ServerEnv {
  return parseEnv(ServerEnvSchema, env);
}
