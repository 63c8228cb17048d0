import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { OnCallOverride } from '../../lib/ops-config';
import { redisScript } from '../../lib/redis-script';

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
    rotation: z.string().optional(),
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

/** Trims the overrides that are over at ARGV[1] (ms; one that ends then is over) and returns the rest. */
const LIVE_SCRIPT = redisScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
`);

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

  /**
   * Stores an override under a stable id (an importer's: the source's override
   * id), replacing one stored earlier under that id. Returns 'unchanged' when
   * the same override is already there, so importing twice changes nothing.
   * An override that is over by `now` is not stored ('over').
   */
  async function put(id: string, override: OnCallOverride, now: Date): Promise<'added' | 'updated' | 'unchanged' | 'over'> {
    const endMs = new Date(override.to).getTime();
    const members = await redis.zrange(key, 0, -1);
    const same = members.flatMap((m) => {
      const parsed = StoredOverrideSchema.safeParse(safeJson(m));
      return parsed.success && parsed.data.id === id ? [{ raw: m, stored: parsed.data }] : [];
    });
    const normal = JSON.stringify(StoredOverrideSchema.shape.override.parse(override));
    if (same.length === 1 && JSON.stringify(same[0]!.stored.override) === normal) return 'unchanged';
    if (endMs <= now.getTime()) return 'over';
    const last = Number((await redis.zrange(key, -1, -1, 'WITHSCORES'))[1] ?? 0);
    const tx = redis.multi();
    if (same.length) tx.zrem(key, ...same.map((s) => s.raw));
    tx.zadd(key, endMs, JSON.stringify({ id, createdAt: now.getTime(), override: JSON.parse(normal) }));
    tx.pexpire(key, Math.max(1, Math.max(endMs, last) - now.getTime()));
    await tx.exec();
    return same.length ? 'updated' : 'added';
  }

  /** Removes the overrides stored under ids starting with `idPrefix` that are not in `keep` (an event deleted at the source). */
  async function prune(idPrefix: string, keep: ReadonlySet<string>): Promise<number> {
    const gone = (await redis.zrange(key, 0, -1)).filter((m) => {
      const parsed = StoredOverrideSchema.safeParse(safeJson(m));
      return parsed.success && parsed.data.id.startsWith(idPrefix) && !keep.has(parsed.data.id);
    });
    if (gone.length) await redis.zrem(key, ...gone);
    return gone.length;
  }

  /** Overrides not over at `now`, oldest first (the order whoIsOnCall expects: the last one wins). */
  async function live(now: Date): Promise<OnCallOverride[]> {
    const t = now.getTime();
    // Trim what is over; an override that ends exactly now is over (its `to` is exclusive).
    // One command: this runs for every escalation step that names the on-call.
    const members = (await LIVE_SCRIPT.run(redis, 1, key, String(t))) as string[];
    return members
      .flatMap((m) => {
        const parsed = StoredOverrideSchema.safeParse(safeJson(m));
        return parsed.success ? [parsed.data] : [];
      })
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((s) => s.override);
  }

  return { key, add, put, prune, live };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type OverrideStore = ReturnType<typeof createOverrideStore>;
