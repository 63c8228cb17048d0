/**
 * REDIS_URL=redis-sentinel://...: a real redis-server and a real Sentinel that
 * monitors it (both private, loopback, temp dirs). createRedis asks the
 * Sentinel for the master, and the eviction-policy check runs through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/http';
import { closeRedis, createRedis, redisAnswers } from '../../lib/redis';
import { enforceNoEviction } from '../../lib/redis-eviction';
import { eventually } from '../helpers/ports';

jest.setTimeout(60_000);

describe('Redis through Sentinel', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  let redisPort: number;
  let sentinelPort: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfo-sentinel-'));
    redisPort = await freePort();
    sentinelPort = await freePort();
    children.push(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--dir', dir], { stdio: 'ignore' }));
    await eventually(() => redisAnswers(`redis://127.0.0.1:${redisPort}`, 300), 10_000, 100);
    const conf = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mfo-test 127.0.0.1 ${redisPort} 1\n`);
    children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
    await eventually(() => redisAnswers(`redis://127.0.0.1:${sentinelPort}`, 300), 10_000, 100);
  });

  afterAll(async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the master, writes and reads, and checks its eviction policy', async () => {
    const redis = createRedis(`redis-sentinel://127.0.0.1:${sentinelPort}/mfo-test`);
    try {
      await redis.set('mfo-sentinel-test', 'ok');
      expect(await redis.get('mfo-sentinel-test')).toBe('ok');
      // The connection is to the master itself, not to the sentinel.
      expect(Number(((await redis.config('GET', 'port')) as string[])[1])).toBe(redisPort);
      expect(await enforceNoEviction(redis, { onEvicting: () => undefined })).toBe('noeviction');
    } finally {
      await closeRedis(redis);
    }
  });
});
