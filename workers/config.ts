import { z } from 'zod';
import { CommonEnvShape, JwtEnvShape, httpUrl, parseEnv, port, positiveInt } from '../lib/config';

export const WorkersEnvSchema = z
  .object({
    ...CommonEnvShape,
    ...JwtEnvShape,
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
  })
  .refine((env) => env.JWT_SECRET, {
    message: 'required: the workers mint their own ops:admin token with it',
    path: ['JWT_SECRET'],
  });

export type WorkersEnv = z.output<typeof WorkersEnvSchema>;

export function loadWorkersEnv(env: NodeJS.ProcessEnv = process.env): WorkersEnv {
  return parseEnv(WorkersEnvSchema, env);
}
