import crypto from 'node:crypto';
import path from 'node:path';
import { generateWorkerKeyPair } from '../lib/worker-key';

/**
 * The environment `npm start` gives its processes. Anything the user set wins;
 * secrets that are unset are generated once per run and shared by the sandbox
 * and the bot, so a fresh clone runs with no configuration at all.
 */
export interface LocalStack {
  env: NodeJS.ProcessEnv;
  /** True when the local Slack sandbox stands in for Slack. */
  sandboxSlack: boolean;
  /** True when the backend simulators stand in for account/transaction services. */
  sandboxBackends: boolean;
  generated: string[];
  ports: { server: number; bot: number; workers: number; slack: number; accounts: number; transactions: number; prometheus: number; alertmanager: number; control: number };
}

/** The repository: the processes' working directory, and what the local backups archive. */
const repoRoot = path.resolve(__dirname, '..');

const rand = (bytes = 24) => crypto.randomBytes(bytes).toString('base64url');

export function buildLocalEnv(input: NodeJS.ProcessEnv): LocalStack {
  const env: NodeJS.ProcessEnv = { ...input };
  const generated: string[] = [];
  const setDefault = (key: string, value: string, secret = true) => {
    if (env[key]) return;
    env[key] = value;
    if (secret) generated.push(key);
  };
  const num = (key: string, def: number) => Number(env[key] || def);
  const host = env.HOST || '127.0.0.1';
  const ports = {
    server: num('SERVER_PORT', 3000),
    bot: num('BOT_PORT', 3001),
    workers: num('WORKERS_METRICS_PORT', 3002),
    slack: num('SANDBOX_SLACK_PORT', 3100),
    accounts: num('ACCOUNT_SERVICE_PORT', 4001),
    transactions: num('TRANSACTION_SERVICE_PORT', 4002),
    prometheus: num('PROMETHEUS_PORT', 9090),
    alertmanager: num('ALERTMANAGER_PORT', 9093),
    // npm start's control endpoint for drills (scripts/drill/stack-control.ts): any free port unless set.
    control: num('STACK_CONTROL_PORT', 0),
  };
  // No token, or an API URL on this machine, means the sandbox stands in for Slack; a real token alone means real Slack.
  const sandboxSlack = !env.SLACK_BOT_TOKEN || /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(env.SLACK_API_URL ?? '');
  const sandboxBackends = !env.ACCOUNT_SERVICE_URL && !env.TRANSACTION_SERVICE_URL;

  setDefault('SLACK_BOT_TOKEN', `xoxb-local-${rand(12)}`);
  setDefault('SLACK_SIGNING_SECRET', rand());
  setDefault('ALERTMANAGER_WEBHOOK_TOKEN', rand());
  setDefault('BOT_API_TOKEN', rand());
  setDefault('STACK_CONTROL_TOKEN', rand());
  if (!env.JWT_JWKS_URL) setDefault('JWT_SECRET', rand(32));
  // The workers sign their own ops-only tokens; the server knows the public half.
  if (!env.WORKERS_JWT_PRIVATE_KEY && !env.WORKERS_JWT_PUBLIC_KEY) {
    const pair = generateWorkerKeyPair();
    setDefault('WORKERS_JWT_PRIVATE_KEY', pair.privateKey);
    setDefault('WORKERS_JWT_PUBLIC_KEY', pair.publicKey, false);
  }
  setDefault('JWT_ISSUER', 'mcp-financial-ops-local', false);
  setDefault('JWT_AUDIENCE', 'mcp-financial-server', false);
  setDefault('REDIS_URL', 'redis://127.0.0.1:6379', false);
  if (sandboxSlack) setDefault('SLACK_API_URL', `http://${host}:${ports.slack}/api/`, false);
  setDefault('SLACK_REQUEST_URL', `http://${host}:${ports.bot}/slack/events`, false);
  setDefault('ACCOUNT_SERVICE_URL', `http://${host}:${ports.accounts}`, false);
  setDefault('TRANSACTION_SERVICE_URL', `http://${host}:${ports.transactions}`, false);
  setDefault('MCP_SERVER_URL', `http://${host}:${ports.server}/mcp`, false);
  // The workers' routine opens incidents (a failed backup) through the bot's webhook.
  setDefault('BOT_WEBHOOK_URL', `http://${host}:${ports.bot}/alertmanager/webhook`, false);
  // Backups of the configuration a fresh clone has (absolute, so a restore can be compared with the live files),
  // kept under the ignored .tmp/ (ops_backup_create, the routine's backup, npm run drill -- disaster-recovery).
  setDefault('BACKUP_PATHS', ['config', 'runbooks', 'monitoring'].map((d) => path.join(repoRoot, d)).join(','), false);
  setDefault('BACKUP_DIR', path.join(repoRoot, '.tmp', 'backups'), false);
  return { env, sandboxSlack, sandboxBackends, generated, ports };
}

/**
 * Each process gets only the keys it needs: the workers sign with their own key and never see JWT_SECRET;
 * the launcher's control token stays with the launcher.
 */
export function envFor(name: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { STACK_CONTROL_TOKEN: _control, ...all } = env;
  if (name !== 'workers') {
    const { WORKERS_JWT_PRIVATE_KEY: _private, ...rest } = all;
    return rest;
  }
  const { JWT_SECRET: _secret, ...rest } = all;
  return rest;
}
