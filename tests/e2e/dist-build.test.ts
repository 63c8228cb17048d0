/**
 * `npm run build` compiles every process to CommonJS, and `node dist/<process>/main.js`
 * runs each of them: the server, the bot and the workers answer /health against
 * the sandbox, and each finds the runbooks, the ops config and package.json by path.
 * Each one refuses an evicting Redis with one line saying why and how to fix it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/http';
import { closeRedis, createRedis, redisAnswers } from '../../lib/redis';
import {
  buildInto,
  freeStackPorts,
  healthUrl,
  ROOT,
  spawnProcess,
  stackEnv,
  waitHealthy,
  type ProcessName,
  type RunningProcess,
  type StackPorts,
} from '../helpers/built-processes';
import { eventually } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../helpers/redis';

jest.setTimeout(240_000);

const outRel = path.join('.tmp', `dist-test-${process.pid}`);
const outDir = path.join(ROOT, outRel);
const runtime = { kind: 'dist' as const, dir: outDir };

beforeAll(() => {
  buildInto(outRel);
});

afterAll(() => {
  fs.rmSync(outDir, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('emits CommonJS with source maps for each process entry', () => {
    for (const name of ['server', 'bot', 'workers', 'sandbox']) {
      const main = path.join(outDir, name, 'main.js');
      expect(fs.existsSync(main)).toBe(true);
      expect(fs.existsSync(`${main}.map`)).toBe(true);
      const text = fs.readFileSync(main, 'utf8');
      expect(text).toMatch(/require\(/);
      expect(text).not.toMatch(/^import /m);
    }
  });
});

describe('node dist/<process>/main.js', () => {
  const prefix = testPrefix('dist');
  let ports: StackPorts;
  const procs: RunningProcess[] = [];

  beforeAll(async () => {
    ports = await freeStackPorts();
  });

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    const redis = testRedis();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('starts the sandbox, server, bot and workers, each answering /health', async () => {
    const env = stackEnv(ports, TEST_REDIS_URL, prefix);
    for (const name of ['sandbox', 'server', 'bot', 'workers'] as ProcessName[]) {
      const proc = spawnProcess(name, runtime, env);
      procs.push(proc);
      await waitHealthy(proc, healthUrl(name, ports));
    }
    const health = (await (await fetch(healthUrl('server', ports))).json()) as { version: string };
    expect(health.version).toBe((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    // The bot serves the runbooks read from <root>/runbooks, not dist/runbooks.
    const runbook = await fetch(`http://127.0.0.1:${ports.bot}/runbooks/HighErrorRate.yaml`);
    expect(runbook.status).toBe(200);
    expect(await runbook.text()).toMatch(/priority/);
  });
});

describe('an evicting Redis', () => {
  let redisChild: ChildProcess;
  let dataDir: string;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfo-evicting-redis-'));
    redisChild = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru', '--dir', dataDir],
      { stdio: 'ignore' },
    );
    url = `redis://127.0.0.1:${port}`;
    await eventually(() => redisAnswers(url, 300), 10_000, 100);
  });

  afterAll(async () => {
    if (redisChild.exitCode === null) {
      redisChild.kill('SIGTERM');
      await new Promise((r) => redisChild.once('exit', r));
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['server', 'bot', 'workers'] as ProcessName[])('%s refuses to start, saying why and how to fix it', async (name) => {
    const ports = await freeStackPorts();
    const proc = spawnProcess(name, runtime, stackEnv(ports, url, testPrefix('evict')));
    const code = await proc.exited;
    expect(code).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/maxmemory-policy is "allkeys-lru"/);
    expect(lines[0]).toMatch(/CONFIG SET maxmemory-policy noeviction/);
  });

  it('a Redis switched to evicting while a process runs stops it', async () => {
    const ports = await freeStackPorts();
    const admin = createRedis(url);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const proc = spawnProcess('workers', runtime, stackEnv(ports, url, testPrefix('evict')));
    try {
      await waitHealthy(proc, healthUrl('workers', ports));
      await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
      // A reconnect (a restart or failover) re-checks: drop the process's connections.
      const clients = String(await admin.client('LIST'))
        .split('\n')
        .filter((l) => l.includes('id=') && !l.includes('cmd=client'));
      for (const line of clients) await admin.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toMatch(/maxmemory-policy is \\?"volatile-lru/);
    } finally {
      await proc.stop();
      await closeRedis(admin);
    }
  });
});
