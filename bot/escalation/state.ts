import type { Redis } from 'ioredis';
import { redisScript } from '../../lib/redis-script';

/**
 * The escalation engine's own state per incident, in one Redis hash
 * `<prefix>:esc:<id>`, next to the incident (never inside it: the incident
 * hash belongs to the incident store).
 *
 * Two clocks live in it, each with a generation and a status:
 * - the step chain: `gen`, `status` (running | paused | stopped), `anchor`
 *   (when the current plan's round 0 starts), `policy`, `priority`, `resumeAt`;
 * - the SLA clock: `slaGen`, `slaStatus` (pending | met | breached | cancelled), `slaDueAt`.
 *
 * Every change of plan bumps the generation, and a job carries the generation
 * it was planned in: a job of an older plan finds a different number and does
 * nothing. Changes and claims are Lua scripts, so they are atomic against each
 * other and against the incident store's own scripts.
 */

export type ChainStatus = 'running' | 'paused' | 'stopped';
export type SlaStatus = 'pending' | 'met' | 'breached' | 'cancelled';

export interface EscalationState {
  gen: number;
  status: ChainStatus | 'none';
  anchor?: string;
  policy?: string;
  priority?: string;
  resumeAt?: string;
  slaGen: number;
  slaStatus: SlaStatus | 'none';
  slaDueAt?: string;
}

/** Which clock a change or a claim is about: the field names of its status and generation. */
export const CHAIN = { status: 'status', gen: 'gen' } as const;
export const SLA = { status: 'slaStatus', gen: 'slaGen' } as const;
export type Clock = typeof CHAIN | typeof SLA;

const TRANSITION_LUA = `
local key = KEYS[1]
local statusField, genField = ARGV[1], ARGV[2]
local allowed = cjson.decode(ARGV[3])
local expectGen, bump = ARGV[4], ARGV[6]
local fields = cjson.decode(ARGV[5])
local status = redis.call('HGET', key, statusField) or 'none'
local ok = false
for _, s in ipairs(allowed) do if s == status then ok = true end end
if not ok then return {0, tonumber(redis.call('HGET', key, genField) or '0'), status} end
if expectGen ~= '' and (redis.call('HGET', key, genField) or '0') ~= expectGen then
  return {0, tonumber(redis.call('HGET', key, genField) or '0'), status}
end
local gen
if bump == '1' then gen = redis.call('HINCRBY', key, genField, 1) else gen = tonumber(redis.call('HGET', key, genField) or '0') end
for name, value in pairs(fields) do
  if value == '' then redis.call('HDEL', key, name) else redis.call('HSET', key, name, value) end
end
return {1, gen, status}
`;
const TRANSITION_LUA_SCRIPT = redisScript(TRANSITION_LUA);

/*
 * The fired marker: claimed (SET NX with a lease) only while the job's plan is
 * still the current one and the incident is in a state that calls for it.
 * "done" is final; a lease that outlives a crashed process expires, so a
 * retry can claim it again rather than lose the step. A marker that already
 * holds the caller's token is its own claim (ioredis re-sent the command after
 * a Redis restart, and Redis had run it): 'ok', not 'busy'. A marker held by
 * another run of the same BullMQ job (ARGV[8], the job's prefix of the token)
 * belongs to a run that lost its job lock: BullMQ hands a job to a new run only
 * once the old one stalled (its process died or froze) or ended. That claim is
 * taken over ('reclaimed') instead of waiting out the lease; a frozen old run
 * that wakes up posts nothing twice (the outbox dedupes by the step's id).
 */
const CLAIM_LUA = `
local stateKey, incidentKey, marker = KEYS[1], KEYS[2], KEYS[3]
local statusField, genField, expectGen, expectStatus = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local allowed = cjson.decode(ARGV[5])
if redis.call('HGET', stateKey, genField) ~= expectGen then return 'stale' end
if redis.call('HGET', stateKey, statusField) ~= expectStatus then return 'stale' end
local st = redis.call('HGET', incidentKey, 'state')
if not st then return 'missing' end
local ok = false
for _, s in ipairs(allowed) do if s == st then ok = true end end
if not ok then return 'state:' .. st end
if redis.call('SET', marker, ARGV[6], 'NX', 'PX', ARGV[7]) then return 'ok' end
local held = redis.call('GET', marker)
if held == 'done' then return 'done' end
if held == ARGV[6] then return 'ok' end
local job = ARGV[8] or ''
if job ~= '' and string.sub(held, 1, #job) == job then
  redis.call('SET', marker, ARGV[6], 'PX', ARGV[7])
  return 'reclaimed'
end
return 'busy'
`;
const CLAIM_LUA_SCRIPT = redisScript(CLAIM_LUA);

/*
 * Marks a claimed step done and appends its timeline entry in one step, so a
 * re-sent command (or a retry) can neither double the entry nor lose it.
 * ARGV: ttl seconds, then the entry's field/value pairs. Returns 1, or 0 when it was done already.
 */
const DONE_LUA = `
if redis.call('GET', KEYS[1]) == 'done' then return 0 end
redis.call('SET', KEYS[1], 'done', 'EX', ARGV[1])
if #ARGV > 1 then redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2)) end
return 1
`;
const DONE_LUA_SCRIPT = redisScript(DONE_LUA);

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
const RELEASE_LUA_SCRIPT = redisScript(RELEASE_LUA);

export type ClaimOutcome = 'ok' | 'reclaimed' | 'stale' | 'missing' | 'done' | 'busy' | `state:${string}`;

export interface TransitionRequest {
  /** Statuses the clock must be in ('none': never set). */
  from: ReadonlyArray<string>;
  /** The generation the caller saw; the change is refused if it moved on. */
  expectGen?: number;
  /** Fields to set; '' deletes one. */
  fields: Record<string, string>;
  /** Start a new generation (a new plan). */
  bump: boolean;
}

export interface TransitionOutcome {
  ok: boolean;
  gen: number;
  previous: string;
}

/** How long a "done" marker is kept: longer than any plan an incident can have open. */
const DONE_TTL_S = 30 * 86_400;

export function createEscalationState({ redis, prefix }: { redis: Redis; prefix: string }) {
  const keys = {
    state: (id: string) => `${prefix}:esc:${id}`,
    jobs: (id: string) => `${prefix}:esc:${id}:jobs`,
    marker: (id: string, gen: number, what: string) => `${prefix}:esc:${id}:fired:${gen}:${what}`,
  };

  async function read(id: string): Promise<EscalationState> {
    const h = await redis.hgetall(keys.state(id));
    return {
      gen: Number(h.gen ?? 0),
      status: (h.status as ChainStatus) ?? 'none',
      anchor: h.anchor,
      policy: h.policy,
      priority: h.priority,
      resumeAt: h.resumeAt,
      slaGen: Number(h.slaGen ?? 0),
      slaStatus: (h.slaStatus as SlaStatus) ?? 'none',
      slaDueAt: h.slaDueAt,
    };
  }

  async function transition(id: string, clock: Clock, req: TransitionRequest): Promise<TransitionOutcome> {
    const [ok, gen, previous] = (await TRANSITION_LUA_SCRIPT.run(
      redis,
      1,
      keys.state(id),
      clock.status,
      clock.gen,
      JSON.stringify(req.from),
      req.expectGen === undefined ? '' : String(req.expectGen),
      JSON.stringify(req.fields),
      req.bump ? '1' : '0',
    )) as [number, number, string];
    return { ok: ok === 1, gen, previous };
  }

  async function claim(
    id: string,
    clock: Clock,
    expect: { gen: number; status: string; incidentKey: string; incidentStates: readonly string[] },
    what: string,
    token: string,
    leaseMs: number,
    /** `<job id>|`: a claim of an earlier run of this job is taken over. '' for none. */
    jobPrefix = '',
  ): Promise<ClaimOutcome> {
    return (await CLAIM_LUA_SCRIPT.run(
      redis,
      3,
      keys.state(id),
      expect.incidentKey,
      keys.marker(id, expect.gen, what),
      clock.status,
      clock.gen,
      String(expect.gen),
      expect.status,
      JSON.stringify(expect.incidentStates),
      token,
      String(leaseMs),
      jobPrefix,
    )) as ClaimOutcome;
  }

  /**
   * Marks `what` done and, when given, appends `entry` to the incident's timeline stream (`timelineKey`) in the
   * same atomic step. Idempotent: true the first time, false when it was done already.
   */
  async function markDone(id: string, gen: number, what: string, timeline?: { key: string; entry: Record<string, string> }): Promise<boolean> {
    const marker = keys.marker(id, gen, what);
    const first = timeline
      ? await DONE_LUA_SCRIPT.run(redis, 2, marker, timeline.key, String(DONE_TTL_S), ...Object.entries(timeline.entry).flat())
      : await DONE_LUA_SCRIPT.run(redis, 1, marker, String(DONE_TTL_S));
    return first === 1;
  }

  /** Gives a claim back after a failed notification, so the retry can fire the step. */
  async function release(id: string, gen: number, what: string, token: string): Promise<void> {
    await RELEASE_LUA_SCRIPT.run(redis, 1, keys.marker(id, gen, what), token);
  }

  /** Which of `whats` have fired (or are being fired) in generation `gen`. */
  async function firedSet(id: string, gen: number, whats: readonly string[]): Promise<Set<string>> {
    if (whats.length === 0) return new Set();
    const values = await redis.mget(...whats.map((w) => keys.marker(id, gen, w)));
    return new Set(whats.filter((_, i) => values[i] !== null));
  }

  /** Records scheduled job ids under their clock and generation, so a later change can remove them. */
  async function rememberJobs(id: string, clock: Clock, gen: number, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length) await redis.sadd(keys.jobs(id), ...jobIds.map((j) => `${clock.gen}|${gen}|${j}`));
  }

  /**
   * Forgets and returns the job ids of `clock` planned before generation
   * `current`. Jobs of the current plan stay: a concurrent change may already
   * have scheduled them.
   */
  async function takeStaleJobs(id: string, clock: Clock, current: number): Promise<string[]> {
    const members = await redis.smembers(keys.jobs(id));
    const stale = members.filter((m) => {
      const [field, gen] = m.split('|');
      return field === clock.gen && Number(gen) < current;
    });
    if (stale.length) await redis.srem(keys.jobs(id), ...stale);
    return stale.map((m) => m.split('|')[2]!);
  }

  /** A closed incident's state is kept a while (a late duplicate event must not restart it), then goes. */
  async function expire(id: string): Promise<void> {
    await redis.multi().expire(keys.state(id), DONE_TTL_S).expire(keys.jobs(id), DONE_TTL_S).exec();
  }

  return { keys, read, transition, claim, markDone, release, firedSet, rememberJobs, takeStaleJobs, expire };
}

export type EscalationStateStore = ReturnType<typeof createEscalationState>;
