import { Redis, type RedisOptions } from 'ioredis';
import net from 'node:net';
import { parseRedisUrl } from './redis-url';

export { Redis };

/**
 * One way to open Redis everywhere. BullMQ needs `maxRetriesPerRequest: null`
 * on the connections its workers block on; we use it for every connection so a
 * Redis restart stalls commands instead of failing them.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect quickly, then back off to 2 s: a restart of Redis is an everyday event.
    retryStrategy: (times) => Math.min(50 * times, 2000),
  };
  const parsed = parseRedisUrl(url);
  // Sentinel (redis-sentinel://...): ioredis finds the master and follows failovers.
  if (parsed.kind === 'sentinel') return new Redis({ ...common, ...parsed.options, sentinelRetryStrategy: (times) => Math.min(100 * times, 2000), ...options });
  return new Redis(url, { ...common, ...options });
}

/** True when something speaks Redis at `url` within `timeoutMs`. Opens no pooled connection. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      const auth = u.password ? `AUTH ${decodeURIComponent(u.username || 'default')} ${decodeURIComponent(u.password)}\r\n` : '';
      socket.write(`${auth}PING\r\n`);
    });
    socket.on('data', (buf) => done(/PONG|NOAUTH|-ERR/.test(buf.toString())));
  });
}

/** Closes a connection, waiting for pending replies when it is still up. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
