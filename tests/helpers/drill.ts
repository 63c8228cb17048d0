import { spawn } from 'node:child_process';
import path from 'node:path';
import { STACK_SECRETS, type Stack } from './stack';

const root = path.resolve(__dirname, '../..');

export interface DrillRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run drill -- <scenario> --json …` as a person runs it, against a startStack() stack. */
export function runDrillCli(stack: Stack, scenario: string, extraArgs: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<DrillRun> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SLACK_API_URL: stack.url('SANDBOX_SLACK_PORT', '/api/'),
    SLACK_BOT_TOKEN: STACK_SECRETS.SLACK_BOT_TOKEN,
    BOT_WEBHOOK_URL: stack.url('BOT_PORT', '/alertmanager/webhook'),
    ALERTMANAGER_WEBHOOK_TOKEN: STACK_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN,
    ACCOUNT_SERVICE_URL: stack.url('ACCOUNT_SERVICE_PORT'),
    TRANSACTION_SERVICE_URL: stack.url('TRANSACTION_SERVICE_PORT'),
    MCP_SERVER_URL: stack.url('SERVER_PORT', '/mcp'),
    PROMETHEUS_URL: stack.url('PROMETHEUS_PORT'),
    ...extraEnv,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'scripts/drill.ts', scenario, '--json', '--env-file', '/dev/null', ...extraArgs], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The report a `--json` drill prints as its last line. */
export function drillReport<T = Record<string, unknown>>(run: DrillRun): T {
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as T;
}
