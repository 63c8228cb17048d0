import type { Redis } from 'ioredis';

/**
 * What one action request has done so far, in Redis, keyed by its requestId.
 * A worker killed mid-action leaves its job active; BullMQ's stall check hands
 * it to another worker, which replays the handler: every step that touches a
 * target runs through `once`, so the replay reads the recorded outcome instead
 * of hitting the target again. The only window left is between a step's call
 * returning and its record being written (one Redis round trip).
 */
export interface ActionJournal {
  /** Runs `fn` the first time `step` is reached for this request; later, returns what it returned. */
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
  /** True when an earlier attempt reached `step` (started it) without recording an outcome. */
  interrupted(step: string): Promise<boolean>;
  /** Steps recorded so far, for the result's detail. */
  steps(): Promise<string[]>;
}

/** Kept a day: long past any retry, short enough not to grow without bound. */
export const JOURNAL_TTL_S = 86_400;

export function journalKey(prefix: string, requestId: string): string {
  return `${prefix}:action-run:${requestId}`;
}

export function createActionJournal(redis: Redis, prefix: string, requestId: string): ActionJournal {
  const key = journalKey(prefix, requestId);

  async function once<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const done = await redis.hget(key, `done:${step}`);
    if (done !== null) return JSON.parse(done) as T;
    await redis.multi().hset(key, `started:${step}`, String(Date.now())).expire(key, JOURNAL_TTL_S).exec();
    const value = await fn();
    await redis.multi().hset(key, `done:${step}`, JSON.stringify(value ?? null)).expire(key, JOURNAL_TTL_S).exec();
    return value;
  }

  async function interrupted(step: string): Promise<boolean> {
    const [started, done] = await redis.hmget(key, `started:${step}`, `done:${step}`);
    return started !== null && done === null;
  }

  async function steps(): Promise<string[]> {
    const fields = await redis.hkeys(key);
    return fields.filter((f) => f.startsWith('done:')).map((f) => f.slice(5));
  }

  return { once, interrupted, steps };
}
