import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../lib/jwt';
import { silentLogger } from '../../lib/logger';
import { createRedis } from '../../lib/redis';
import { createMcpFinancialServer } from '../../server/app';
import { loadServerEnv } from '../../server/config';
import { noBackends } from '../../server/mcp/no-backends';
import { callBody, postMcp, TEST_SECRET } from './server-harness';

/** A port nothing listens on: bind one, note it, close it. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('with Redis unreachable', () => {
  test('the server still starts: /health 200, /health/ready 503 + Retry-After, health unhealthy, Redis-backed ops fail fast', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-noredis-'));
    const env = loadServerEnv({
      JWT_SECRET: TEST_SECRET,
      SERVER_PORT: '0',
      REDIS_URL: `redis://127.0.0.1:${await deadPort()}`,
      MAINTENANCE_STATUS_FILE: path.join(dir, 'status'),
    });
    const redis = createRedis(env.REDIS_URL);
    redis.on('error', () => undefined);
    const server = createMcpFinancialServer(env, { redis, logger: silentLogger(), backends: noBackends(), registrars: [] });
    const running = await server.start();
    try {
      expect((await fetch(`${running.url}/health`)).status).toBe(200);
      const ready = await fetch(`${running.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('30');
      expect(((await ready.json()) as { problems: string[] }).problems.join()).toMatch(/redis/);

      const auth = { authorization: `Bearer ${await mintToken({ secret: TEST_SECRET, subject: 'op', scope: 'ops:admin', ttl: 60 })}` };
      const health = (await (await postMcp(`${running.url}/mcp`, callBody('ops_health_check', { mode: 'full' }), auth)).json()) as {
        result: { structuredContent: { status: string; redis: { ok: boolean } } };
      };
      expect(health.result.structuredContent.status).toBe('unhealthy');
      expect(health.result.structuredContent.redis.ok).toBe(false);

      const block = (await (await postMcp(`${running.url}/mcp`, callBody('ops_block_ip', { ip: '192.0.2.1', reason: 'test' }), auth)).json()) as {
        result: { isError: boolean; content: Array<{ text: string }> };
      };
      expect(block.result.isError).toBe(true);
      expect(block.result.content[0]!.text).toMatch(/^E_BACKEND_UNAVAILABLE: Redis is unavailable/);
      // refusals are still counted without Redis
      expect((await postMcp(`${running.url}/mcp`, callBody('ops_health_check'))).status).toBe(401);
    } finally {
      await server.stop();
      redis.disconnect();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
