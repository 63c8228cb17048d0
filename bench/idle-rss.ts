/**
 * Idle resident memory of each process, run as production runs it
 * (`node dist/<process>/main.js`) and as development does (`tsx <process>/main.ts`).
 * Builds into .tmp/, starts the sandbox once, then each process alone against it,
 * waits for /health, lets it settle, samples RSS a few times and prints the median.
 *
 *   npx tsx bench/idle-rss.ts [--samples 5]
 */
import fs from 'node:fs';
import path from 'node:path';
import { redisAnswers } from '../lib/redis';
import {
  buildInto,
  freeStackPorts,
  healthUrl,
  processTree,
  ROOT,
  rssBytes,
  spawnProcess,
  stackEnv,
  waitHealthy,
  type ProcessName,
  type Runtime,
} from '../tests/helpers/built-processes';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const flag = process.argv.indexOf('--samples');
const samples = flag > 0 ? Number(process.argv[flag + 1]) : 5;
const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  if (!(await redisAnswers(REDIS_URL))) throw new Error(`no Redis at ${REDIS_URL}`);
  const outRel = path.join('.tmp', 'dist-rss');
  buildInto(outRel);
  const dist: Runtime = { kind: 'dist', dir: path.join(ROOT, outRel) };
  const ports = await freeStackPorts();
  const prefix = `bench-rss-${process.pid}`;
  const env = stackEnv(ports, REDIS_URL, prefix);
  const sandbox = spawnProcess('sandbox', dist, env);
  await waitHealthy(sandbox, healthUrl('sandbox', ports));
  const rows: string[] = [];
  try {
    for (const name of ['server', 'bot', 'workers'] as ProcessName[]) {
      const figures: Record<string, string> = {};
      for (const runtime of [dist, { kind: 'tsx' } as Runtime]) {
        const proc = spawnProcess(name, runtime, env);
        try {
          await waitHealthy(proc, healthUrl(name, ports));
          await pause(3000); // idle: let start-up garbage be collected
          const own: number[] = [];
          const tree: number[] = [];
          for (let i = 0; i < samples; i++) {
            const pids = processTree(proc.pid);
            // tsx's CLI is a wrapper: the program is its child (the last in the tree).
            own.push(rssBytes(pids[pids.length - 1]!));
            tree.push(pids.reduce((sum, pid) => sum + rssBytes(pid), 0));
            await pause(1000);
          }
          figures[runtime.kind] = runtime.kind === 'dist' ? `${mb(median(own))} MB` : `${mb(median(own))} MB (${mb(median(tree))} MB with the tsx wrapper)`;
        } finally {
          await proc.stop();
        }
      }
      rows.push(`| ${name} | ${figures.dist} | ${figures.tsx} |`);
    }
  } finally {
    await sandbox.stop();
    fs.rmSync(path.join(ROOT, outRel), { recursive: true, force: true });
  }
  console.log(`idle RSS, median of ${samples} samples, Node ${process.version}\n| process | node dist/ | tsx |\n|---|---|---|\n${rows.join('\n')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
