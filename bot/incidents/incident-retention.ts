import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { createAuditLog } from '../../lib/audit-log';
import { parseDuration } from '../../lib/duration';
import type { Logger } from '../../lib/logger';
import type { RetentionConfig } from '../../lib/ops-config-retention';

/*
 * Deletes one resolved incident and everything that belongs to it, in one step, only if it is still
 * resolved since before the cutoff: its hash, alerts, timeline, replies owed, index entries, Slack outbox lane (and its
 * place in a storm digest, the digest itself once its last incident is gone) and escalation state.
 * Keys are built from the prefix inside, as the store's and the outbox's scripts do (single Redis node).
 * Returns 1 when deleted, 0 when kept, -1 when the record was already gone (index entry dropped).
 */
const DELETE_LUA = `
local p, id, cutoff = ARGV[1], ARGV[2], ARGV[3]
local k = p .. ':inc:' .. id
local h = redis.call('HMGET', k, 'state', 'resolvedAt', 'channel', 'rootTs')
local gone = not h[1]
if not gone and (h[1] ~= 'resolved' or not h[2] or h[2] >= cutoff) then return 0 end
-- The thread-to-incident index (a storm digest's thread maps to one of its incidents: only ours goes).
if h[3] and h[4] then
  local rk = p .. ':inc:root:' .. h[3] .. ':' .. h[4]
  if redis.call('GET', rk) == id then redis.call('DEL', rk) end
end
redis.call('DEL', k, k .. ':alerts', k .. ':timeline', k .. ':replies-owed', p .. ':esc:' .. id, p .. ':esc:' .. id .. ':jobs')
redis.call('ZREM', p .. ':inc:all', id)
redis.call('SREM', p .. ':inc:replies-owing', id)
local ob = p .. ':outbox:'
local lane = ob .. 'lane:' .. id
local digest = redis.call('HGET', lane, 'digest')
local ch = redis.call('HGET', lane, 'channel')
redis.call('DEL', lane, lane .. ':ops')
if ch then redis.call('ZREM', ob .. 'ch:' .. ch .. ':ready', id) end
if digest then
  local dk = ob .. 'lane:' .. digest
  redis.call('ZREM', dk .. ':members', id)
  local dch = redis.call('HGET', dk, 'channel')
  local busy = dch and redis.call('ZSCORE', ob .. 'ch:' .. dch .. ':ready', digest)
  if redis.call('ZCARD', dk .. ':members') == 0 and not busy and redis.call('LLEN', dk .. ':ops') == 0 then
    redis.call('DEL', dk, dk .. ':members', dk .. ':ops')
    if dch and redis.call('GET', ob .. 'ch:' .. dch .. ':digest') == digest then redis.call('DEL', ob .. 'ch:' .. dch .. ':digest') end
  end
end
if gone then return -1 end
return 1
`;

export interface IncidentRetentionOptions {
  redis: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  config: RetentionConfig;
  logger: Logger;
  registry: Registry;
}

/** How many candidates one sweep looks at per round trip. */
const BATCH = 200;

/**
 * Retention for what the bot keeps in Redis. Incidents are indexed by creation time (`inc:all`); a sweep
 * walks the ones created before the cutoff and deletes those resolved before it. Open incidents stay,
 * whatever their age; their timelines are capped at `timeline_max_entries` (trimmed, logged, counted).
 * The ops audit keeps `audit` (age) and `audit_max_entries` (count). Everything else the bot writes
 * either expires by itself (dedupe markers, fired markers, arrival windows) or is bounded by the number
 * of channels (docs/redis.md has every key).
 */
export function createIncidentRetention(options: IncidentRetentionOptions) {
  const { redis, prefix, config, logger } = options;
  const retentionMs = parseDuration(config.incidents);
  const deleted = new Counter({
    name: 'retention_incidents_deleted_total',
    help: 'Resolved incidents deleted from Redis (with their alerts, timeline, outbox lane and escalation state) past the retention.',
    registers: [options.registry],
  });
  const trimmed = new Counter({
    name: 'retention_timeline_trimmed_total',
    help: "Timeline entries trimmed from open incidents past retention.timeline_max_entries (the oldest go).",
    registers: [options.registry],
  });
  const auditTrimmed = new Counter({
    name: 'retention_audit_trimmed_total',
    help: 'Ops audit entries trimmed past retention.audit or retention.audit_max_entries (the kept chain still verifies).',
    registers: [options.registry],
  });
  const audit = createAuditLog({ redis, prefix });
  const auditMs = parseDuration(config.audit);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function sweepResolved(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - retentionMs);
    let removed = 0;
    let offset = 0;
    for (;;) {
      // Created before the cutoff: only those can have resolved before it.
      const ids = await redis.zrangebyscore(`${prefix}:inc:all`, '-inf', `(${cutoff.getTime()}`, 'LIMIT', offset, BATCH);
      if (ids.length === 0) break;
      let kept = 0;
      for (const id of ids) {
        const r = Number(await redis.eval(DELETE_LUA, 0, prefix, id, cutoff.toISOString()));
        if (r === 1) removed += 1;
        if (r === 0) kept += 1;
      }
      offset += kept;
    }
    if (removed) {
      deleted.inc(removed);
      logger.info({ deleted: removed, before: cutoff.toISOString() }, 'retention: deleted resolved incidents');
    }
    return removed;
  }

  async function capTimelines(): Promise<number> {
    const max = config.timeline_max_entries;
    let total = 0;
    for (const id of await redis.smembers(`${prefix}:inc:open`)) {
      const key = `${prefix}:inc:${id}:timeline`;
      if ((await redis.xlen(key)) <= max) continue;
      const n = Number(await redis.xtrim(key, 'MAXLEN', max));
      if (n > 0) {
        total += n;
        logger.warn({ incidentId: id, trimmed: n, kept: max }, 'retention: timeline of an open incident over its cap; the oldest entries were trimmed');
      }
    }
    if (total) trimmed.inc(total);
    return total;
  }

  async function trimAudit(now: Date): Promise<number> {
    const before = new Date(now.getTime() - auditMs);
    const n = await audit.trim({ before, maxEntries: config.audit_max_entries });
    if (n) {
      auditTrimmed.inc(n);
      logger.info({ trimmed: n, before: before.toISOString(), maxEntries: config.audit_max_entries }, 'retention: trimmed the oldest ops audit entries');
    }
    return n;
  }

  /** One sweep: resolved incidents past retention, timeline caps, then the audit. `now` moves the clock (drills, tests). */
  async function sweep(now = new Date()): Promise<{ deleted: number; trimmed: number; auditTrimmed: number }> {
    const r = { deleted: await sweepResolved(now), trimmed: await capTimelines(), auditTrimmed: await trimAudit(now) };
    return r;
  }

  function start(): void {
    if (timer) return;
    const run = () => {
      if (running) return;
      running = sweep()
        .catch((err) => logger.warn({ err }, 'retention sweep failed; the next one retries'))
        .finally(() => (running = undefined));
    };
    run();
    timer = setInterval(run, parseDuration(config.sweep_interval));
    timer.unref();
  }

  async function stop(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = undefined;
    await running;
  }

  return { sweep, start, stop, retentionMs };
}

export type IncidentRetention = ReturnType<typeof createIncidentRetention>;
