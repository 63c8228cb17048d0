import { z } from 'zod';
import { CommonEnvShape, JwtEnvShape, httpUrl, parseEnv, port, positiveInt, secret } from '../lib/config';
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
  /** The jobs the workers queue themselves (a maintenance window's `maintenance off`) retry as the bot's do. */
  RUNBOOK_JOB_ATTEMPTS: positiveInt(5).pipe(z.number().max(20, 'at most 20')).optional(),
  RUNBOOK_JOB_BACKOFF_MS: positiveInt(2000).optional(),
  /** The ops config (channels, platform driver, routine); the built-in default when unset. */
  OPS_CONFIG: z.string().min(1).optional(),
  /** Prometheus HTTP API: query_prometheus, diagnostics, the routine's reports. */
  PROMETHEUS_URL: httpUrl().optional(),
  /** Alertmanager API: maintenance silences (by hand and in the routine's windows). */
  ALERTMANAGER_URL: httpUrl().optional(),
  /** Set by Kubernetes in every pod: the kubernetes platform driver then uses the pod's service account. */
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  KUBERNETES_SERVICE_PORT: z.string().regex(/^\d{1,5}$/, 'must be a port').optional(),
  /** The bot's Alertmanager webhook: a failed or missing backup opens an incident through it. */
  BOT_WEBHOOK_URL: httpUrl().optional(),
  /** The bearer token that webhook expects (the bot's ALERTMANAGER_WEBHOOK_TOKEN). */
  ALERTMANAGER_WEBHOOK_TOKEN: secret().optional(),
  /** `off` runs no routine (schedulers stay as they are in Redis; nothing consumes them here). */
  ROUTINE: z.enum(['on', 'off']).default('on'),
});

export type WorkersEnv = z.output<typeof WorkersEnvSchema>;

export function loadWorkersEnv(env: NodeJS.ProcessEnv = process.env): WorkersEnv {
  return parseEnv(WorkersEnvSchema, env);
}
