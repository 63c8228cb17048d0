import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { redisAnswers } from '../../lib/redis';
import { sleep } from './escalation-harness';

/** Helpers of the Redis-restart tests: a private redis-server with AOF that a test shuts down and starts again. */

/** A redis-server of this test's own, restartable on the same port and dir (its AOF). */
export function createAofRedis(port: number, dir: string) {
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

  async function start(timeoutMs = 10_000): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];
    child = spawn('redis-server', [...args, '--logfile', path.join(dir, 'redis.log')], { stdio: 'ignore' });
    const deadline = Date.now() + timeoutMs;
    while (!(await redisAnswers(url, 300))) {
      if (!alive() || Date.now() > deadline) throw new Error(`private redis-server did not start (see ${dir}/redis.log)`);
      await sleep(50);
    }
  }

  /** SHUTDOWN, as an operator restarting Redis would: with AOF, everything written so far is on disk. */
  async function shutdown(): Promise<void> {
    const c = child!;
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('SHUTDOWN\r\n');
    await exited(c);
    socket.destroy();
  }

  /** Teardown, whatever state the test left it in. */
  async function kill(): Promise<void> {
    if (child && alive()) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }

  return { url, start, shutdown, kill, alive, killNow: () => alive() && child!.kill('SIGKILL') };
}

/** Waits for `work`, at most `ms` (a teardown must not hang on a connection that never comes back). */
export async function bounded(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

