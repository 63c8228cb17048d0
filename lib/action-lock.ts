import type { Redis } from 'ioredis';
import { redisScript } from './redis-script';

/**
 * The per-target action lock (`<prefix>:action-lock:<target>`, value = the holder's request id): the bot takes it
 * before it enqueues an action, the worker holds it while the action runs (workers/actions/lock.ts) and releases it
 * when done. One definition of its key and of its release, for both sides.
 */
const SEGMENT = ':action-lock:';

export const actionLockKey = (prefix: string, target: string) => `${prefix}${SEGMENT}${target}`;

/** The target a lock key names, for messages. */
export function actionLockTarget(key: string): string {
  const at = key.indexOf(SEGMENT);
  return at >= 0 ? key.slice(at + SEGMENT.length) : key;
}

/** Compare-and-delete: only the holder's token deletes it (a later request's lock stays). */
const RELEASE_SCRIPT = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export async function releaseActionLock(redis: Redis, key: string, token: string): Promise<boolean> {
  return (await RELEASE_SCRIPT.run(redis, 1, key, token)) === 1;
}
