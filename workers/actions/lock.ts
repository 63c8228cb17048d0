import type { Redis } from 'ioredis';

/** Deletes the target lock only if it is still the one this request took (a later request's lock stays). */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Releases the bot's per-target lock once the action is done (or has failed for good). */
export async function releaseActionLock(redis: Redis, lock: { key: string; token: string }): Promise<boolean> {
  return (await redis.eval(RELEASE_LUA, 1, lock.key, lock.token)) === 1;
}
