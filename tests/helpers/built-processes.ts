import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../lib/http';
import { eventually } from './ports';
import { STACK_SECRETS } from './stack';
import { generateWorkerKeyPair } from '../../lib/worker-key';

/**
 * Runs the processes the way production does (`node dist/<process>/main.js`)
 * or the way development does (`tsx <process>/main.ts`), one child each, on
 * free loopback ports. Used by the build test and by bench/idle-rss.ts.
 */

export const ROOT = path.resolve(__dirname, '../..');
export type ProcessName = 'server' | 'bot' | 'workers' | 'sandbox';
export type Runtime = { kind: 'dist'; dir: string } | { kind: 'tsx' };

/** `npm run build` into `outDir` (relative to the package root); throws with tsc's output on failure. */
export function buildInto(outDir: string): void {
  const run = spawnSync('npm', ['run', '-s', 'build', '--', '--outDir', outDir], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`npm run build failed:\n${run.stdout}\n${run.stderr}`);
}

export interface RunningProcess {
  name: ProcessName;
  child: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function spawnProcess(name: ProcessName, runtime: Runtime, env: NodeJS.ProcessEnv): RunningProcess {
  const args =
    runtime.kind === 'dist'
      ? ['--enable-source-maps', path.join(runtime.dir, name, 'main.js')]
      : [require.resolve('tsx/cli'), path.join(name, 'main.ts')];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface StackPorts {
  server: number;
  bot: number;
  workers: number;
  slack: number;
  accounts: number;
  transactions: number;
}

export async function freeStackPorts(): Promise<StackPorts> {
  return {
    server: await freePort(),
    bot: await freePort(),
    workers: await freePort(),
    slack: await freePort(),
    accounts: await freePort(),
    transactions: await freePort(),
  };
}

/** The environment every process of one stack shares (sandbox Slack and backends on loopback). */
/** One key pair per test file, as npm start generates one per run. */
const WORKER_KEYS = generateWorkerKeyPair();

export function stackEnv(ports: StackPorts, redisUrl: string, prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    ...STACK_SECRETS,
    // The workers sign their own ops tokens; the server accepts that key for the ops scopes only.
    WORKERS_JWT_PRIVATE_KEY: WORKER_KEYS.privateKey,
    WORKERS_JWT_PUBLIC_KEY: WORKER_KEYS.publicKey,
    SLACK_API_URL: `http://127.0.0.1:${ports.slack}/api/`,
    SLACK_REQUEST_URL: `http://127.0.0.1:${ports.bot}/slack/events`,
    SERVER_PORT: String(ports.server),
    BOT_PORT: String(ports.bot),
    WORKERS_METRICS_PORT: String(ports.workers),
    SANDBOX_SLACK_PORT: String(ports.slack),
    ACCOUNT_SERVICE_PORT: String(ports.accounts),
    TRANSACTION_SERVICE_PORT: String(ports.transactions),
    ACCOUNT_SERVICE_URL: `http://127.0.0.1:${ports.accounts}`,
    TRANSACTION_SERVICE_URL: `http://127.0.0.1:${ports.transactions}`,
    MCP_SERVER_URL: `http://127.0.0.1:${ports.server}/mcp`,
    MAINTENANCE_STATUS_FILE: path.join(ROOT, '.tmp', `${prefix}-status`),
    ...extra,
  };
}

export function healthUrl(name: ProcessName, ports: StackPorts): string {
  if (name === 'sandbox') return `http://127.0.0.1:${ports.slack}/_sandbox/stats`;
  const port = name === 'server' ? ports.server : name === 'bot' ? ports.bot : ports.workers;
  return `http://127.0.0.1:${port}/health`;
}

/** Waits until the process answers its health URL with 200 (or exits, which throws with its output). */
export async function waitHealthy(proc: RunningProcess, url: string, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}:\n${proc.output()}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return res.status === 200;
    },
    timeoutMs,
    200,
  );
}

/** Resident set size in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb[1]) * 1024;
}

/** The process and all its descendants (tsx's CLI runs the program in a child of its own). */
export function processTree(pid: number): number[] {
  const children = (p: number): number[] => {
    const ids = fs.existsSync(`/proc/${p}/task`)
      ? fs.readdirSync(`/proc/${p}/task`).flatMap((t) => {
          try {
            return fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
          } catch {
            return [];
          }
        })
      : [];
    return ids.flatMap((c) => [c, ...children(c)]);
  };
  return [pid, ...children(pid)];
}
