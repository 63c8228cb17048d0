import { z } from 'zod';
import { CommonEnvShape, httpUrl, parseEnv, port, positiveInt, positiveNumber, secret } from '../lib/config';

export const BotEnvSchema = z.object({
  ...CommonEnvShape,
  BOT_PORT: port(3001),
  SLACK_BOT_TOKEN: z.string().regex(/^xox[bp]-/, 'must be a bot token (xoxb-...)'),
  SLACK_SIGNING_SECRET: secret(),
  /** Socket Mode instead of the HTTP receiver when set. */
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must be an app-level token (xapp-...)').optional(),
  /** Web API base; the sandbox in local mode, Slack's own when unset. */
  SLACK_API_URL: httpUrl()
    .transform((u) => (u.endsWith('/') ? u : `${u}/`))
    .optional(),
  ALERTMANAGER_WEBHOOK_TOKEN: secret(),
  ALERTMANAGER_URL: httpUrl().optional(),
  /** Grafana base URL: incident messages link to Explore on the alert's expression. */
  GRAFANA_URL: httpUrl().optional(),
  OPS_CONFIG: z.string().min(1).optional(),
  BOT_API_TOKEN: secret().optional(),
  ESCALATION_TIME_SCALE: positiveNumber(1),
  /**
   * How long a runbook job (and an automatic remediation) rides out an unreachable MCP server or platform: attempts, with
   * exponential backoff from RUNBOOK_JOB_BACKOFF_MS (defaults: 5 attempts over 2+4+8+16 = 30 s).
   */
  RUNBOOK_JOB_ATTEMPTS: positiveInt(5).pipe(z.number().max(20, 'at most 20')).optional(),
  RUNBOOK_JOB_BACKOFF_MS: positiveInt(2000).optional(),
  /**
   * A new incident's opening (root, escalation plan, diagnostics) belongs to the replica that stored it for this
   * long; if that replica dies first, another takes it over after this (bot/alerts/incident-opener.ts).
   */
  OPENING_LEASE_MS: positiveInt(15000).pipe(z.number().min(1000, 'at least 1000').max(300_000, 'at most 300000')).optional(),
});

export type BotEnv = z.output<typeof BotEnvSchema>;

export function loadBotEnv(env: NodeJS.ProcessEnv = process.env): BotEnv {
  return parseEnv(BotEnvSchema, env);
}
