import type { Redis } from 'ioredis';
import { CodedError, ErrorCode } from '../../lib/errors';

/**
 * Our connections queue commands while Redis is away (maxRetriesPerRequest:
 * null), which is right for workers and wrong for a person waiting on a tool:
 * an ops action that needs Redis fails fast and says why instead.
 */
export function requireRedis(redis: Redis): void {
  if (redis.status !== 'ready') {
    throw new CodedError(ErrorCode.BackendUnavailable, `Redis is unavailable (connection ${redis.status}); try again when it is back`);
  }
}

/** Resolves or rejects within `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
