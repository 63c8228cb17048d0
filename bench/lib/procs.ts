import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeRedis, createRedis, redisAnswers, type Redis } from '../../lib/redis';
import {
  freeStackPorts,
  healthUrl,
  processTree,
  ROOT,
  rssBytes,
  spawnProcess,
  stackEnv,
  STACK_SECRETS,
  waitHealthy,
  type ProcessName,
  type RunningProcess,
  type StackPorts,
} from './stack-env';
import { deleteKeysByPrefix } from '../redis-cleanup';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export { STACK_SECRETS };

export interface BenchStack {
  ports: StackPorts;
  prefix: string;
  redis: Redis;
  procs: Partial<Record<ProcessName, RunningProcess>>;
  url(name: 'bot' | 'server' | 'slack' | 'workers' | 'accounts', path?: string): string;
  /** RSS in bytes of a process's program (tsx runs it in a child of its CLI). */
  rss(name: ProcessName): number;
  pid(name: ProcessName): number;
  /**
   * With `collectGarbage` at start: a full GC in that process (bench/lib/gc-on-signal.cjs), then its
   * memory as process.memoryUsage() reports it right after.
   */
  gc(name: ProcessName): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

const GC_PRELOAD = path.join(__dirname, 'gc-on-signal.cjs');

/**
 * The product's own processes (`tsx <process>/main.ts`, as `npm start` runs them)
 * on free loopback ports, sharing a fresh Redis prefix that `stop()` deletes.
 * The sandbox (Slack with its real rate limits, and the backend simulators) always starts first.
 */
export async function startStack(
  names: Exclude<ProcessName, 'sandbox'>[],
  extraEnv: NodeJS.ProcessEnv = {},
  options: { cpuProfileDir?: string; profile?: ProcessName[]; collectGarbage?: boolean } = {},
): Promise<BenchStack> {
  if (!(await redisAnswers(REDIS_URL))) throw new Error(`no Redis at ${REDIS_URL}`);
  const ports = await freeStackPorts();
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const gcDir = options.collectGarbage ? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gc-')) : undefined;
  const gcEnv = gcDir ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --require ${GC_PRELOAD}`.trim(), BENCH_GC_DIR: gcDir } : {};
  const env = stackEnv(ports, REDIS_URL, prefix, { ROUTINE: 'off', ...extraEnv, ...gcEnv });
  const redis = createRedis(REDIS_URL);
  const procs: BenchStack['procs'] = {};
  const stop = async () => {
    for (const name of [...names].reverse()) await procs[name]?.stop();
    await procs.sandbox?.stop();
    await deleteKeysByPrefix(redis, prefix);
    await closeRedis(redis);
    if (gcDir) fs.rmSync(gcDir, { recursive: true, force: true });
  };
  try {
    procs.sandbox = spawnProcess('sandbox', { kind: 'tsx' }, env);
    await waitHealthy(procs.sandbox, healthUrl('sandbox', ports));
    for (const name of names) {
      procs[name] = options.cpuProfileDir && options.profile?.includes(name) ? spawnProfiled(name, env, options.cpuProfileDir) : spawnProcess(name, { kind: 'tsx' }, env);
      await waitHealthy(procs[name]!, healthUrl(name, ports));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const port = { bot: ports.bot, server: ports.server, slack: ports.slack, workers: ports.workers, accounts: ports.accounts };
  // The program is the deepest node process of the tree (tsx's CLI wraps it; esbuild's service is a child too).
  const pid = (name: ProcessName) => {
    const tree = processTree(procs[name]!.pid).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
      } catch {
        return false;
      }
    });
    return tree[tree.length - 1] ?? procs[name]!.pid;
  };
  return {
    ports,
    prefix,
    redis,
    procs,
    url: (name, path = '') => `http://127.0.0.1:${port[name]}${path}`,
    pid,
    rss: (name) => rssBytes(pid(name)),
    async gc(name) {
      if (!gcDir) throw new Error('startStack was not asked to collectGarbage');
      const target = pid(name);
      const file = path.join(gcDir, `${target}.json`);
      const asked = Date.now();
      process.kill(target, 'SIGUSR2');
      for (const deadline = asked + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
        try {
          const { at, ...usage } = JSON.parse(fs.readFileSync(file, 'utf8')) as NodeJS.MemoryUsage & { at: number };
          if (at >= asked) return usage;
        } catch {
          // not written yet
        }
      }
      throw new Error(`${name} (pid ${target}) did not report its memory after a GC within 10 s`);
    },
    stop,
  };
}

/** `node --cpu-prof --import tsx <name>/main.ts` (--cpu-prof is not allowed in NODE_OPTIONS): the profile is written when it exits. */
function spawnProfiled(name: ProcessName, env: NodeJS.ProcessEnv, dir: string): RunningProcess {
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', path.join(name, 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Samples a process's RSS every `everyMs` until stopped; `peak` is the highest seen. */
export function rssSampler(read: () => number, everyMs = 100): { peak(): number; stop(): number } {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, read());
    } catch {
      // the process is gone
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** POSTs an Alertmanager body to the bot's webhook; resolves with the HTTP status and incident id. */
export async function postAlert(stack: BenchStack, body: unknown): Promise<{ status: number; incident: string }> {
  const res = await fetch(stack.url('bot', '/alertmanager/webhook'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${STACK_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { incident?: string };
  return { status: res.status, incident: json.incident ?? '' };
}
