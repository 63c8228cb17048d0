import { randomUUID } from 'node:crypto';
import { createRedis, type Redis } from '../../lib/redis';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique key prefix per test file, and a way to delete every key under it afterwards. */
export function testPrefix(name = 'test'): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

export function testRedis(): Redis {
  return createRedis(TEST_REDIS_URL);
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
