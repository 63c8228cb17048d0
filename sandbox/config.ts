import { z } from 'zod';
import { httpUrl, parseEnv, port, secret } from '../lib/config';

export const SandboxEnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  SANDBOX_SLACK_PORT: port(3100),
  ACCOUNT_SERVICE_PORT: port(4001),
  TRANSACTION_SERVICE_PORT: port(4002),
  SLACK_BOT_TOKEN: z.string().regex(/^xox[bp]-/, 'must be a bot token (xoxb-...)'),
  SLACK_SIGNING_SECRET: secret(),
  /** Where the sandbox delivers slash commands and interactions (the bot's request URL). */
  SLACK_REQUEST_URL: httpUrl().default('http://127.0.0.1:3001/slack/events'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type SandboxEnv = z.output<typeof SandboxEnvSchema>;

export function loadSandboxEnv(env: NodeJS.ProcessEnv = process.env): SandboxEnv {
  return parseEnv(SandboxEnvSchema, env);
}
