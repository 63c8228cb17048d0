import { z } from 'zod';
import { CommonEnvShape, JwtEnvShape, httpUrl, parseEnv, port, positiveInt } from '../lib/config';
import { isWorkerKey } from '../lib/worker-key';

export const WorkersEnvSchema = z.object({
  ...CommonEnvShape,
  JWT_ISSUER: JwtEnvShape.JWT_ISSUER,
  JWT_AUDIENCE: JwtEnvShape.JWT_AUDIENCE,
  /**
   * The workers' Ed25519 private key (PEM, or base64 PKCS#8 DER). The MCP server accepts what it
   * signs for the ops scopes only (its WORKERS_JWT_PUBLIC_KEY); the workers never see JWT_SECRET.
   */
  WORKERS_JWT_PRIVATE_KEY: z
    .string({ error: 'required: the workers sign their ops token with it (npm start generates one)' })
    .refine((v) => isWorkerKey(v, 'private'), 'must be an Ed25519 private key (PEM, or base64 PKCS#8 DER)'),
  WORKERS_METRICS_PORT: port(3002),
  /** The MCP server's Streamable HTTP endpoint. */
  MCP_SERVER_URL: httpUrl().default('http://127.0.0.1:3000/mcp'),
  WORKER_CONCURRENCY: positiveInt(4),
  /** The ops config (channels, platform driver); the built-in default when unset. */
  OPS_CONFIG: z.string().min(1).optional(),
  /** Prometheus HTTP API, for query_prometheus and diagnostics. */
  PROMETHEUS_URL: httpUrl().optional(),
  /** Alertmanager API, for maintenance silences. */
  ALERTMANAGER_URL: httpUrl().optional(),
});

export type WorkersEnv = z.output<typeof WorkersEnvSchema>;

export function loadWorkersEnv(env: NodeJS.ProcessEnv = process.env): WorkersEnv {
  return parseEnv(WorkersEnvSchema, env);
}
