import crypto from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by its SHA1 (EVALSHA), so a hot path sends a few bytes per
 * call instead of the script's text. Redis forgets scripts on a restart or
 * `SCRIPT FLUSH`: a NOSCRIPT answer makes it send the text once (EVAL, which
 * also caches it again), so the result is the same as `redis.eval` every time.
 */
export interface RedisScript {
  readonly sha: string;
  run(redis: Redis, numKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown>;
}

export function redisScript(lua: string): RedisScript {
  const sha = crypto.createHash('sha1').update(lua).digest('hex');
  return {
    sha,
    async run(redis, numKeys, ...args) {
      try {
        return await redis.evalsha(sha, numKeys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return redis.eval(lua, numKeys, ...args);
      }
    },
  };
}
