import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { OnCallOverride } from '../../lib/ops-config';

/**
 * Overrides made with `/ops oncall override`, kept in Redis so every bot
 * replica (and the escalation engine) sees them and they survive a restart.
 * One sorted set `<prefix>:oncall:overrides`, scored by the override's end
 * (ms): the ones that are over are trimmed by score, and the key itself
 * expires with the last one.
 */

const StoredOverrideSchema = z.object({
  id: z.string(),
  /** When it was made (ms): a newer override beats an older one where they overlap. */
  createdAt: z.number(),
  override: z.object({
    user: z.string(),
    from: z.string(),
    to: z.string(),
    reason: z.string().optional(),
    by: z.string().optional(),
  }),
});

/*
 * Adds an override and stretches the key's lifetime to cover it, never shortens it: in one step, so two
 * overrides made at once cannot leave the key expiring with the shorter one (a read-then-write could).
 */
const ADD_LUA = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[3])
if ttl < want then redis.call('PEXPIRE', KEYS[1], want) end
return 1
`;

export function overridesKey(prefix: string): string {
  return `${prefix}:oncall:overrides`;
}

export function createOverrideStore({ redis, prefix }: { redis: Redis; prefix: string }) {
  const key = overridesKey(prefix);

  /** Stores a validated override (see `createOverride` in bot/oncall.ts); the key lives as long as its last override. */
  async function add(override: OnCallOverride, now: Date): Promise<void> {
    const endMs = new Date(override.to).getTime();
    const member = JSON.stringify({ id: crypto.randomUUID(), createdAt: now.getTime(), override });
    // Relative to the caller's clock, so a drill or test clock and Redis agree on "over".
    await redis.eval(ADD_LUA, 1, key, String(endMs), member, String(Math.max(1, endMs - now.getTime())));
  }

  /** Overrides not over at `now`, oldest first (the order whoIsOnCall expects: the last one wins). */
  async function live(now: Date): Promise<OnCallOverride[]> {
    const t = now.getTime();
    // Trim what is over; an override that ends exactly now is over (its `to` is exclusive).
    await redis.zremrangebyscore(key, '-inf', t);
    const members = await redis.zrangebyscore(key, `(${t}`, '+inf');
    return members
      .flatMap((m) => {
        const parsed = StoredOverrideSchema.safeParse(safeJson(m));
        return parsed.success ? [parsed.data] : [];
      })
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((s) => s.override);
  }

  return { key, add, live };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type OverrideStore = ReturnType<typeof createOverrideStore>;
