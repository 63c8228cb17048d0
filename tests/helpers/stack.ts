import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { closeRedis } from '../../lib/redis';
import { eventually, freePort } from './ports';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from './redis';

const root = path.resolve(__dirname, '../..');

export const STACK_SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-e2e-token',
  SLACK_SIGNING_SECRET: 'e2e-signing-secret-0123456789',
  ALERTMANAGER_WEBHOOK_TOKEN: 'e2e-webhook-token-0123456789',
  JWT_SECRET: 'e2e-jwt-secret-0123456789abcdef0123',
};

export interface Stack {
  child: ChildProcess;
  ports: Record<'SERVER_PORT' | 'BOT_PORT' | 'WORKERS_METRICS_PORT' | 'SANDBOX_SLACK_PORT' | 'ACCOUNT_SERVICE_PORT' | 'TRANSACTION_SERVICE_PORT' | 'PROMETHEUS_PORT' | 'ALERTMANAGER_PORT', number>;
  url(port: keyof Stack['ports'], path?: string): string;
  output(): string;
  prefix: string;
  /** Ctrl-C; resolves with the exit code. */
  interrupt(): Promise<number | null>;
  /** Kills whatever is left and deletes the stack's Redis keys. */
  cleanup(): Promise<void>;
}

/** Runs `npm start`'s script as a child, on free ports, with a private Redis key prefix. */
export async function startStack(extraEnv: Record<string, string> = {}): Promise<Stack> {
  const prefix = testPrefix('e2e');
  const ports = {
    SERVER_PORT: await freePort(),
    BOT_PORT: await freePort(),
    WORKERS_METRICS_PORT: await freePort(),
    SANDBOX_SLACK_PORT: await freePort(),
    ACCOUNT_SERVICE_PORT: await freePort(),
    TRANSACTION_SERVICE_PORT: await freePort(),
    PROMETHEUS_PORT: await freePort(),
    ALERTMANAGER_PORT: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...STACK_SECRETS,
    // With a bot token set, npm start assumes real Slack unless SLACK_API_URL points at the sandbox.
    SLACK_API_URL: `http://127.0.0.1:${ports.SANDBOX_SLACK_PORT}/api/`,
    MAINTENANCE_STATUS_FILE: path.join(os.tmpdir(), `${prefix}-status`),
    // The routine's default maintenance windows (Sunday 02:00 UTC) would put a stack started then into
    // maintenance mode; its own tests (tests/integration/routine*.test.ts) give their own schedules.
    ROUTINE: 'off',
    // Real Prometheus and Alertmanager only for the tests that want them (MONITORING: 'on').
    MONITORING: 'off',
    ...extraEnv,
  };
  for (const [k, v] of Object.entries(ports)) env[k] = String(v);
  let output = '';
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'scripts/start.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d.toString()));
  child.stderr!.on('data', (d) => (output += d.toString()));
  await eventually(
    async () => output.includes('MCP Financial Ops is running') || (child.exitCode !== null && Promise.reject(new Error(output))),
    60_000,
    200,
  );
  return {
    child,
    ports,
    prefix,
    url: (port, p = '') => `http://127.0.0.1:${ports[port]}${p}`,
    output: () => output,
    async interrupt() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGINT');
      return new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    },
    async cleanup() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 15_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      const redis = testRedis();
      await deletePrefix(redis, prefix);
      await closeRedis(redis);
    },
  };
}

/** POSTs an Alertmanager body to the stack's bot; resolves with the incident id. */
export async function postAlert(stack: Stack, body: unknown): Promise<{ status: number; incident: string }> {
  const res = await fetch(stack.url('BOT_PORT', '/alertmanager/webhook'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${STACK_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { incident?: string };
  return { status: res.status, incident: json.incident ?? '' };
}
