import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../lib/http';

/**
 * Starts real Prometheus and Alertmanager (Debian's `prometheus` and
 * `prometheus-alertmanager` packages) on 127.0.0.1 for tests and drills, with
 * configs from render.ts. Nothing here listens anywhere else: Alertmanager's
 * cluster port (0.0.0.0:9094 by default) is switched off.
 */

export interface ToolProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
  /** stdout + stderr so far, for failure messages. */
  logs(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface StartOptions {
  configFile: string;
  /** Where the tool keeps its data (a fresh temp dir per test). */
  dataDir: string;
  /** @defaultValue a free port */
  port?: number;
  /** How long to wait for /-/ready. @defaultValue 30000 */
  readyTimeoutMs?: number;
}

export { freePort };

/** First of `names` found on PATH. */
export function findBinary(...names: string[]): string | undefined {
  for (const name of names) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return undefined;
}

async function startTool(name: string, binary: string, args: string[], port: number, readyTimeoutMs: number): Promise<ToolProcess> {
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const url = `http://127.0.0.1:${port}`;
  const proc: ToolProcess = {
    name,
    url,
    port,
    pid: child.pid ?? -1,
    logs: () => output,
    async stop() {
      if (!running) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (!running) throw new Error(`${name} exited before it was ready:\n${output}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error(`${name} was not ready within ${readyTimeoutMs} ms:\n${output}`);
}

export async function startPrometheus(options: StartOptions): Promise<ToolProcess> {
  const binary = findBinary('prometheus');
  if (!binary) throw new Error('prometheus not found: apt-get install prometheus');
  const port = options.port ?? (await freePort());
  return startTool(
    'prometheus',
    binary,
    [
      `--config.file=${options.configFile}`,
      `--storage.tsdb.path=${options.dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Resend firing alerts often so a short test sees state changes promptly.
      '--rules.alert.resend-delay=1s',
    ],
    port,
    options.readyTimeoutMs ?? 30_000,
  );
}

export async function startAlertmanager(options: StartOptions): Promise<ToolProcess> {
  const binary = findBinary('prometheus-alertmanager', 'alertmanager');
  if (!binary) throw new Error('alertmanager not found: apt-get install prometheus-alertmanager');
  const port = options.port ?? (await freePort());
  return startTool(
    'alertmanager',
    binary,
    [
      `--config.file=${options.configFile}`,
      `--storage.path=${options.dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No HA gossip: it would listen on 0.0.0.0:9094.
      '--cluster.listen-address=',
    ],
    port,
    options.readyTimeoutMs ?? 30_000,
  );
}
