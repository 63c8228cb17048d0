import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { actionLockTarget, releaseActionLock as releaseLock } from '../../lib/action-lock';
import { redisScript } from '../../lib/redis-script';

/**
 * The bot takes a per-target lock (`<prefix>:action-lock:<target>`, value = the request id, 15 min TTL) before it
 * enqueues an action, so one action per target runs at a time; the worker holds it while the action runs and
 * releases it when done. The TTL only frees a target whose worker died for good; a job that waited in the queue
 * past it, or a rollout longer than it, must not let a second action on the same target start.
 */
export interface ActionLock {
  key: string;
  token: string;
}

/*
 * Holds the lock for ARGV[1] at least ARGV[2] ms ahead: ours, its TTL is raised to that (never lowered); absent (it
 * ran out while the job waited and nobody took it), taken again; another request's: 0, nothing changed.
 */
const HOLD_SCRIPT = redisScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl >= 0 and ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
`);

/** Releases the bot's per-target lock once the action is done (or has failed for good); only its own. */
export const releaseActionLock = (redis: Redis, lock: ActionLock): Promise<boolean> => releaseLock(redis, lock.key, lock.token);

/** The target a lock names (`…:action-lock:<target>`), for messages. */
export const lockTarget = (lock: ActionLock): string => actionLockTarget(lock.key);

export type LockHold = { ok: true; retaken: boolean; stop(): void } | { ok: false; holder: string | null };

/**
 * Makes sure this request holds its target's lock before the action touches anything, then keeps it at least
 * `holdMs` ahead every `holdMs / 3` until `stop()`. Refused (ok false) when another request holds it: that one
 * took the target after this request's lock ran out, and two actions on one target never run at once.
 * If the worker dies, the lock outlives it by at most `holdMs` (the job's takeover renews it again).
 */
export async function holdActionLock(redis: Redis, lock: ActionLock, holdMs: number, logger: Logger): Promise<LockHold> {
  const first = Number(await HOLD_SCRIPT.run(redis, 1, lock.key, lock.token, String(holdMs)));
  if (first === 0) return { ok: false, holder: await redis.get(lock.key) };
  const timer = setInterval(() => {
    HOLD_SCRIPT.run(redis, 1, lock.key, lock.token, String(holdMs))
      .then((r) => {
        if (Number(r) === 0) logger.error({ lock: lock.key, requestId: lock.token }, 'the target lock was taken by another request while this action ran');
      })
      .catch((err) => logger.warn({ err, lock: lock.key }, 'renewing the target lock failed; tried again shortly'));
  }, Math.max(50, Math.floor(holdMs / 3)));
  timer.unref();
  return { ok: true, retaken: first === 2, stop: () => clearInterval(timer) };
}
