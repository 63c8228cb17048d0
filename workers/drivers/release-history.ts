import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Release history per service, in Redis: what was deployed, by whom, under
 * which request, and whether it turned out healthy. Rollback reads it to find
 * the previous release that was healthy. Bounded: the newest `max` releases.
 *
 * Keys: `<prefix>:platform:releases:<service>` (list of release ids, newest
 * first) and `<prefix>:platform:release:<service>` (hash id → release JSON).
 */
export const ReleaseHealthSchema = z.union([z.literal(true), z.literal(false), z.literal('unknown')]);
export type ReleaseHealth = z.output<typeof ReleaseHealthSchema>;

export const ReleaseSchema = z.object({
  /** The request that deployed it (its id in the history). */
  requestId: z.string().min(1),
  version: z.string().min(1),
  /** What the platform runs: an image reference (docker, kubernetes) or the version label (process). */
  ref: z.string().min(1),
  deployedAt: z.string(),
  by: z.string(),
  /** deploy, rollback, or baseline (what was running before the first recorded deploy). */
  kind: z.enum(['deploy', 'rollback', 'baseline']),
  healthy: ReleaseHealthSchema,
});
export type Release = z.output<typeof ReleaseSchema>;

/** What a rollback chose (noted in the request ledger, so a resumed rollback keeps it). */
export const RollbackTargetSchema = z.object({ version: z.string().min(1), ref: z.string().min(1) });

export interface ReleaseHistoryOptions {
  redis: Redis;
  prefix: string;
  /** @defaultValue 50 */
  max?: number;
}

// Records once per request id (a retried job does not add a second entry), then trims the oldest.
const RECORD = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local max = tonumber(ARGV[3])
while redis.call('LLEN', KEYS[1]) > max do
  local old = redis.call('RPOP', KEYS[1])
  redis.call('HDEL', KEYS[2], old)
end
return 1
`;

// Sets the health of one release in place, if it is still in the history.
const SET_HEALTH = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local r = cjson.decode(raw)
if ARGV[2] == 'true' then r.healthy = true elseif ARGV[2] == 'false' then r.healthy = false else r.healthy = 'unknown' end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(r))
return 1
`;

export interface ReleaseHistory {
  /** Adds a release as the current one; a second call with the same request id changes nothing. */
  record(service: string, release: Omit<Release, 'deployedAt'> & { deployedAt?: string }): Promise<boolean>;
  setHealth(service: string, requestId: string, healthy: ReleaseHealth): Promise<void>;
  /** Newest first. */
  list(service: string, limit?: number): Promise<Release[]>;
  /** The release now running (the newest recorded), if any. */
  current(service: string): Promise<Release | undefined>;
  /** The newest healthy release older than the current one whose version differs from it. */
  previousHealthy(service: string): Promise<Release | undefined>;
}

export function createReleaseHistory(options: ReleaseHistoryOptions): ReleaseHistory {
  const { redis, prefix } = options;
  const max = options.max ?? 50;
  const listKey = (s: string) => `${prefix}:platform:releases:${s}`;
  const hashKey = (s: string) => `${prefix}:platform:release:${s}`;

  async function list(service: string, limit = max): Promise<Release[]> {
    const ids = await redis.lrange(listKey(service), 0, limit - 1);
    if (ids.length === 0) return [];
    const raws = await redis.hmget(hashKey(service), ...ids);
    return raws.flatMap((raw) => {
      if (!raw) return [];
      const parsed = ReleaseSchema.safeParse(JSON.parse(raw));
      return parsed.success ? [parsed.data] : [];
    });
  }

  return {
    async record(service, release) {
      const full = ReleaseSchema.parse({ ...release, deployedAt: release.deployedAt ?? new Date().toISOString() });
      const added = await redis.eval(RECORD, 2, listKey(service), hashKey(service), full.requestId, JSON.stringify(full), String(max));
      return added === 1;
    },
    async setHealth(service, requestId, healthy) {
      await redis.eval(SET_HEALTH, 1, hashKey(service), requestId, String(healthy));
    },
    list,
    async current(service) {
      return (await list(service, 1))[0];
    },
    async previousHealthy(service) {
      const [current, ...older] = await list(service);
      if (!current) return undefined;
      return older.find((r) => r.healthy === true && r.version !== current.version);
    },
  };
}
