import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { redisAnswers } from '../../lib/redis';
import { startPrivateRedis } from '../../scripts/private-redis';
import { freePort } from '../helpers/ports';

const root = path.resolve(__dirname, '../..');

describe('npm start and Redis', () => {
  it('exits with one clear line when REDIS_URL answers nothing', async () => {
    const port = await freePort();
    const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'scripts/start.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: `redis://127.0.0.1:${port}` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no Redis answers at redis:\/\/127\.0\.0\.1:\d+/);
    expect(r.stderr).toMatch(/apt-get install -y redis-server/);
  });

  it('a private redis-server answers, then is gone with its temp dir on stop', async () => {
    const redis = await startPrivateRedis();
    expect(await redisAnswers(redis.url)).toBe(true);
    await redis.stop();
    expect(await redisAnswers(redis.url, 300)).toBe(false);
  });

  it('a bad value stops a process with the variable name and the reason', () => {
    const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'bot/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, SLACK_BOT_TOKEN: 'not-a-token', SLACK_SIGNING_SECRET: 'x'.repeat(20), ALERTMANAGER_WEBHOOK_TOKEN: 'y'.repeat(20), BOT_PORT: '99999' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/SLACK_BOT_TOKEN: must be a bot token/);
    expect(r.stderr).toMatch(/BOT_PORT: must be 0\.\.65535/);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
