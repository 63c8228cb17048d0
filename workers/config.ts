import { z } from 'zod';
import { CommonEnvShape, JwtEnvShape, httpUrl, parseEnv, port, positiveInt, secret } from '../lib/config';

export const WorkersEnvSchema = z
  .object({
    ...CommonEnvShape,
    ...JwtEnvShape,
    WORKERS_METRICS_PORT: port(3002),
    /** The MCP server's Streamable HTTP endpoint. */
    MCP_SERVER_URL: httpUrl().default('http://127.0.0.1:3000/mcp'),
    WORKER_CONCURRENCY: positiveInt(4),
    /** The ops config (its `routine:` section: schedules, report channel, TLS endpoints, windows). */
    OPS_CONFIG: z.string().min(1).optional(),
    /** Prometheus API, for the routine's reports (the guide's PromQL). */
    PROMETHEUS_URL: httpUrl().optional(),
    /** Alertmanager API, for the maintenance windows' silences. */
    ALERTMANAGER_URL: httpUrl().optional(),
    /** The bot's Alertmanager webhook: a failed or missing backup opens an incident through it. */
    BOT_WEBHOOK_URL: httpUrl().optional(),
    /** The bearer token that webhook expects (the bot's ALERTMANAGER_WEBHOOK_TOKEN). */
    ALERTMANAGER_WEBHOOK_TOKEN: secret().optional(),
    /** `off` runs no routine (schedulers stay as they are in Redis; nothing consumes them here). */
    ROUTINE: z.enum(['on', 'off']).default('on'),
  })
  .refine((env) => env.JWT_SECRET, {
    message: 'required: the workers mint their own ops:admin token with it',
    path: ['JWT_SECRET'],
  });

export type WorkersEnv = z.output<typeof WorkersEnvSchema>;

export function loadWorkersEnv(env: NodeJS.ProcessEnv = process.env): WorkersEnv {
  return parseEnv(WorkersEnvSchema, env);
}
