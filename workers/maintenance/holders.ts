import type { Redis } from 'ioredis';
import { z } from 'zod';
import { redisScript } from '../../lib/redis-script';

/**
 * The one definition of "maintenance is on": at least one *holder* is active.
 *
 * Two paths switch the server's maintenance mode: the runbook action
 * (`maintenance on <duration>` / `off`, holder `req:<requestId>`) and the
 * routine's scheduled windows (holder `window:<name>:<startMs>`). Each adds its
 * holder before turning the mode on and removes it at its end; only the end that
 * leaves no active holder turns the mode off. A holder whose `untilMs` has passed
 * counts as gone (a crashed worker cannot keep maintenance on forever), and is
 * dropped from the hash a day later (`GRACE_MS`, so its own end can still read
 * its silences). A person's explicit `maintenance off` clears every holder.
 *
 * Every add, remove and count is one Lua script, so two workers ending two
 * windows at once cannot both see the other one (mode stuck on) or miss it.
 */
export const maintenanceHoldersKey = (prefix: string) => `${prefix}:maintenance:holders`;

/** How long past its until a holder's record is kept (its end job still finds its silences); also the key's TTL past the last until. */
export const HOLDER_GRACE_MS = 86_400_000;

export const HolderRecordSchema = z.object({
  /** When the hold ends by itself (ms since the epoch). */
  untilMs: z.number().int(),
  /** How people read it: "window weekly", "`maintenance on 6h` by <@U0BOB>". */
  label: z.string(),
  /** Who started it (a Slack user id, or `system:…`). */
  by: z.string(),
  /** Why (the reason given). */
  why: z.string(),
  /** The Alertmanager silences this holder made: they end with it. */
  silences: z.array(z.string()).default([]),
});
export type HolderRecord = z.infer<typeof HolderRecordSchema>;
export interface Holder extends HolderRecord {
  id: string;
}

export const actionHolderId = (requestId: string) => `req:${requestId}`;
export const windowHolderId = (window: string, startMs: number) => `window:${window}:${startMs}`;

// Drops records past until + grace, sets the key's expiry from the newest until, returns the active ones (until > now).
const TIDY = `
local function tidy(key, now, grace)
  local all = redis.call('HGETALL', key)
  local active = {}
  local newest = 0
  for i = 1, #all, 2 do
    local ok, rec = pcall(cjson.decode, all[i + 1])
    local untilMs = 0
    if ok and type(rec) == 'table' then untilMs = tonumber(rec['untilMs']) or 0 end
    if untilMs + grace <= now then
      redis.call('HDEL', key, all[i])
    else
      if untilMs > newest then newest = untilMs end
      if untilMs > now then
        active[#active + 1] = all[i]
        active[#active + 1] = all[i + 1]
      end
    end
  end
  if newest > 0 then redis.call('PEXPIREAT', key, newest + grace) end
  return active
end
`;

/** KEYS[1] holders; ARGV now, grace, id, record. Adds (or replaces) the holder; returns the active holders. */
const HOLD = redisScript(`${TIDY}
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
return tidy(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
`);

/** KEYS[1] holders; ARGV id, record. Replaces the record only while the holder is there (an override may have ended it). */
const UPDATE = redisScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`);

/** KEYS[1] holders; ARGV now, grace, id. Removes the holder; returns { its record or '', the active holders left }. */
const RELEASE = redisScript(`${TIDY}
local record = redis.call('HGET', KEYS[1], ARGV[3])
redis.call('HDEL', KEYS[1], ARGV[3])
return { record or '', tidy(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])) }
`);

/** KEYS[1] holders. Removes every holder; returns them all (active or not). */
const CLEAR = redisScript(`
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all
`);

/** KEYS[1] holders; ARGV now, grace. The active holders. */
const ACTIVE = redisScript(`${TIDY}
return tidy(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
`);

function parseRecord(raw: string): HolderRecord | undefined {
  try {
    const parsed = HolderRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function parsePairs(flat: unknown): Holder[] {
  const list = Array.isArray(flat) ? (flat as string[]) : [];
  const out: Holder[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    const record = parseRecord(list[i + 1]!);
    if (record) out.push({ id: list[i]!, ...record });
  }
  return out.sort((a, b) => b.untilMs - a.untilMs);
}

export interface MaintenanceHolders {
  /** Adds (or replaces) a holder; the active holders afterwards, this one included while its until is ahead. */
  hold(id: string, record: HolderRecord, nowMs: number): Promise<Holder[]>;
  /** Replaces a holder's record (its silences, once made); false when it is gone (ended by an override). */
  update(id: string, record: HolderRecord): Promise<boolean>;
  /** Removes one holder: its record (null when it was gone already) and the active holders left. */
  release(id: string, nowMs: number): Promise<{ released: Holder | null; remaining: Holder[] }>;
  /** Removes every holder (a person's `maintenance off`): all of them, `active` saying which still held it. */
  clear(nowMs: number): Promise<Array<Holder & { active: boolean }>>;
  active(nowMs: number): Promise<Holder[]>;
}

export function createMaintenanceHolders(redis: Redis, prefix: string): MaintenanceHolders {
  const key = maintenanceHoldersKey(prefix);
  return {
    async hold(id, record, nowMs) {
      return parsePairs(await HOLD.run(redis, 1, key, nowMs, HOLDER_GRACE_MS, id, JSON.stringify(HolderRecordSchema.parse(record))));
    },
    async update(id, record) {
      return (await UPDATE.run(redis, 1, key, id, JSON.stringify(HolderRecordSchema.parse(record)))) === 1;
    },
    async release(id, nowMs) {
      const [raw, rest] = (await RELEASE.run(redis, 1, key, nowMs, HOLDER_GRACE_MS, id)) as [string, unknown];
      const record = raw ? parseRecord(raw) : undefined;
      return { released: record ? { id, ...record } : null, remaining: parsePairs(rest) };
    },
    async clear(nowMs) {
      return parsePairs(await CLEAR.run(redis, 1, key)).map((h) => ({ ...h, active: h.untilMs > nowMs }));
    },
    async active(nowMs) {
      return parsePairs(await ACTIVE.run(redis, 1, key, nowMs, HOLDER_GRACE_MS));
    },
  };
}

/** Runs a step once per request or phase (the action journal): a replay after a crash reads what it returned. */
export type Once = <T>(step: string, fn: () => Promise<T>) => Promise<T>;
/** Switches the server's maintenance mode (ops_set_maintenance); throws when the server refuses. */
export type SetMode = (enabled: boolean, reason: string) => Promise<void>;

export interface HoldFlow {
  holders: MaintenanceHolders;
  once: Once;
  setMode: SetMode;
  now: () => number;
}

/** "window weekly holds it until …; `maintenance on 6h` by <@U0BOB> holds it until …". */
export function describeHolders(holders: Holder[], when: (at: Date) => string = (at) => at.toISOString()): string {
  return holders.map((h) => `${h.label} holds it until ${when(new Date(h.untilMs))}`).join('; ');
}

/** "window weekly (until …), `maintenance on 6h` by <@U0BOB> (until …)": the holders an override ended. */
export function nameHolders(holders: Holder[], when: (at: Date) => string = (at) => at.toISOString()): string {
  return holders.map((h) => `${h.label} (until ${when(new Date(h.untilMs))})`).join(', ');
}

/**
 * A window begins: its holder first, then the mode on (each step once). Returns the active holders, and
 * `held`: false when a person's `maintenance off` ended this hold between the two steps. That off turned
 * the mode off before this turned it on, so a fresh count turns it off again unless another holder came
 * meanwhile; the caller then stops (no silence, no queued end) and says the window was overridden.
 */
export async function beginHold(flow: HoldFlow, id: string, record: HolderRecord, reason: string): Promise<{ active: Holder[]; held: boolean }> {
  const active = await flow.once('hold', () => flow.holders.hold(id, record, flow.now()));
  await flow.once('set', () => flow.setMode(true, reason).then(() => true));
  const after = await flow.once('confirm', () => flow.holders.active(flow.now()));
  if (after.some((h) => h.id === id)) return { active, held: true };
  if (!after.length) await flow.once('unset', () => flow.setMode(false, `${reason}: ended by a maintenance off while it started`).then(() => true));
  return { active: after, held: false };
}

/**
 * The silences a hold made go in its record, so its end (or an override) expires them. When a person's
 * `maintenance off` ended the hold while they were being made, nobody would: they are expired here and
 * the answer is false (the caller says the window was overridden).
 */
export async function keepSilences(holders: MaintenanceHolders, id: string, record: HolderRecord, ids: string[], expire: (silenceId: string) => Promise<void>): Promise<boolean> {
  if (!ids.length || (await holders.update(id, { ...record, silences: ids }))) return true;
  for (const silenceId of ids) await expire(silenceId);
  return false;
}

/**
 * After the mode went off, someone may have taken a hold between the count and the switch (and turned the
 * mode on before this turned it off): a fresh count puts the mode back on for them.
 */
async function recheck(flow: HoldFlow): Promise<Holder[]> {
  const after = await flow.once('recheck', () => flow.holders.active(flow.now()));
  if (after.length) await flow.once('set-again', () => flow.setMode(true, `maintenance held by ${after[0]!.label}`).then(() => true));
  return after;
}

/**
 * A window ends: its holder goes; the mode goes off only when no other holder is active.
 * `remaining` non-empty means maintenance stays ON for them.
 */
export async function endHold(flow: HoldFlow, id: string, reason: string): Promise<{ released: Holder | null; remaining: Holder[] }> {
  const { released, remaining } = await flow.once('release', () => flow.holders.release(id, flow.now()));
  if (remaining.length) return { released, remaining };
  await flow.once('set', () => flow.setMode(false, reason).then(() => true));
  return { released, remaining: await recheck(flow) };
}

/** A person's `maintenance off`: every holder ends, the mode goes off. Returns the holders it ended. */
export async function endAllHolds(flow: HoldFlow, reason: string): Promise<{ ended: Array<Holder & { active: boolean }>; remaining: Holder[] }> {
  const ended = await flow.once('clear', () => flow.holders.clear(flow.now()));
  await flow.once('set', () => flow.setMode(false, reason).then(() => true));
  return { ended, remaining: await recheck(flow) };
}
