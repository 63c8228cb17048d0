import type { Redis } from 'ioredis';
import { ConfigError } from './errors';

/**
 * BullMQ jobs, incidents, escalation markers and the outbox live in Redis: a
 * Redis that evicts keys under memory pressure silently loses escalation steps
 * and Slack writes. Every process therefore refuses to run on one whose
 * `maxmemory-policy` is anything but `noeviction`.
 */

/** The policy Redis reports (`INFO memory`, which managed Redis allows where `CONFIG` is renamed). */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  const info = await redis.info('memory');
  const match = /^maxmemory_policy:(\S+)/m.exec(info);
  if (match) return match[1];
  const reply = (await redis.config('GET', 'maxmemory-policy').catch(() => [])) as string[];
  return reply[1];
}

/** The one line a person reads when the policy is wrong: why, and how to fix it. */
export function evictionPolicyMessage(policy: string): string {
  return (
    `Redis maxmemory-policy is "${policy}": it may evict queued jobs, incidents and escalation steps. ` +
    `Set it to noeviction (redis.conf "maxmemory-policy noeviction", or redis-cli CONFIG SET maxmemory-policy noeviction; ` +
    `on a managed Redis, its parameter group) and start again.`
  );
}

export interface EnforceNoEvictionOptions {
  /** How long to wait for Redis at start before going on unchecked. @defaultValue 5000 */
  timeoutMs?: number;
  /** Called when a later (re)connect finds an evicting policy: the caller stops the process. */
  onEvicting: (message: string) => void;
}

/**
 * Checks the policy once Redis answers. Throws a ConfigError when Redis answers
 * within `timeoutMs` with an evicting policy; resolves "noeviction" when it is
 * right, or "unchecked" when Redis did not answer in time (the processes ride
 * out a Redis outage). Each later `ready` (a reconnect, maybe to a restarted or
 * failed-over Redis) checks again and reports through `onEvicting`.
 */
export async function enforceNoEviction(redis: Redis, options: EnforceNoEvictionOptions): Promise<'noeviction' | 'unchecked'> {
  const check = async (): Promise<string | undefined> => {
    const policy = await readEvictionPolicy(redis);
    return policy && policy !== 'noeviction' ? evictionPolicyMessage(policy) : undefined;
  };
  let startDone = false;
  redis.on('ready', () => {
    if (!startDone) return;
    check().then(
      (problem) => problem && options.onEvicting(problem),
      () => undefined,
    );
  });
  const ready =
    redis.status === 'ready'
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), options.timeoutMs ?? 5000);
          timer.unref();
          redis.once('ready', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
  try {
    if (!(await ready)) return 'unchecked';
    const problem = await check();
    if (problem) throw new ConfigError(problem);
    return 'noeviction';
  } finally {
    startDone = true;
  }
}
