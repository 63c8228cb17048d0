import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ActionNameSchema } from '../../lib/action-catalog';
import { canonicalJson } from '../../lib/audit-log';
import { actionLockKey, releaseActionLock } from '../../lib/action-lock';
import { redisScript } from '../../lib/redis-script';

/**
 * Runbook action requests in Redis: what was asked, by whom, where, and how
 * far it got (awaiting confirmation, awaiting approval, queued, …). A button
 * carries only the request id; everything else is read back from here, so a
 * tampered button value can at most name another request, which the checks
 * in action-service.ts refuse. State changes are compare-and-set in Lua, so a
 * double click or two bot replicas move a request once.
 */
export const REQUEST_STATES = ['awaiting_confirmation', 'awaiting_approval', 'queued', 'cancelled', 'expired', 'refused'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const ActionRequestSchema = z.object({
  requestId: z.string(),
  action: ActionNameSchema,
  params: z.record(z.string(), z.unknown()),
  /** The lock target (lib/action-catalog ACTION_POLICIES.target), when the action has one. */
  target: z.string().optional(),
  incidentId: z.string().optional(),
  requestedBy: z.string(),
  /** The channel the request came from: a confirmation or approval must come from there too. */
  channelId: z.string(),
  reply: z.object({ channel: z.string(), threadTs: z.string().optional() }),
  origin: z.enum(['button', 'command', 'diagnostics', 'remediation', 'schedule']),
  state: z.enum(REQUEST_STATES),
  createdAt: z.string(),
  /** Confirmation (or approval) after this time is refused. */
  expiresAt: z.string(),
  approvedBy: z.string().optional(),
  queuedAt: z.string().optional(),
});
export type ActionRequest = z.infer<typeof ActionRequestSchema>;

/** Records outlive their deadlines by a day: a late click still finds "expired", and a lock's holder can be named. */
const RECORD_TTL_MS = 86_400_000;

/** KEYS[1] record. ARGV[1] allowed current states (comma-separated), ARGV[2] JSON fields to set. Returns {1|0, state}. */
const TRANSITION_LUA = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {0, ''} end
local r = cjson.decode(raw)
local ok = false
for s in string.gmatch(ARGV[1], '[^,]+') do if r.state == s then ok = true end end
if not ok then return {0, r.state} end
local patch = cjson.decode(ARGV[2])
for k, v in pairs(patch) do r[k] = v end
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return {1, r.state}
`;
const TRANSITION_LUA_SCRIPT = redisScript(TRANSITION_LUA);


export function actionKeys(prefix: string) {
  return {
    request: (id: string) => `${prefix}:actions:request:${id}`,
    /** The contract's lock key: `<prefix>:action-lock:<target>`; its value is the holder's request id. */
    lock: (target: string) => actionLockKey(prefix, target),
    dedupe: (hash: string) => `${prefix}:actions:dedupe:${hash}`,
  };
}

export function createActionRequestStore(options: { redis: Redis; prefix: string }) {
  const { redis } = options;
  const keys = actionKeys(options.prefix);

  /** Stores a new request; if one with this id exists already (a retry), returns that one instead. */
  async function create(request: ActionRequest): Promise<{ created: boolean; request: ActionRequest }> {
    const ok = await redis.set(keys.request(request.requestId), JSON.stringify(request), 'PX', RECORD_TTL_MS, 'NX');
    if (ok) return { created: true, request };
    const existing = await get(request.requestId);
    return existing ? { created: false, request: existing } : { created: true, request };
  }

  async function get(requestId: string): Promise<ActionRequest | undefined> {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(requestId)) return undefined;
    const raw = await redis.get(keys.request(requestId));
    if (!raw) return undefined;
    const parsed = ActionRequestSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  /** Moves a request from one of `from` to the fields in `patch` (state included); false when it was elsewhere. */
  async function transition(requestId: string, from: readonly RequestState[], patch: Partial<ActionRequest>): Promise<{ ok: boolean; state: string }> {
    const [ok, state] = (await TRANSITION_LUA_SCRIPT.run(redis, 1, keys.request(requestId), from.join(','), JSON.stringify(patch))) as [number, string];
    return { ok: ok === 1, state };
  }

  /** Takes the target lock for `requestId` (SET NX PX). True when it holds it now (also when it held it already). */
  async function lock(target: string, requestId: string, ttlMs: number): Promise<boolean> {
    const ok = await redis.set(keys.lock(target), requestId, 'PX', ttlMs, 'NX');
    if (ok) return true;
    return (await redis.get(keys.lock(target))) === requestId;
  }

  /** The request holding the target's lock, if any. */
  async function lockHolder(target: string): Promise<{ requestId: string; request?: ActionRequest } | undefined> {
    const holder = await redis.get(keys.lock(target));
    if (!holder) return undefined;
    return { requestId: holder, request: await get(holder) };
  }

  async function unlock(target: string, requestId: string): Promise<boolean> {
    return releaseActionLock(redis, keys.lock(target), requestId);
  }

  /**
   * One request per (person, action, params, incident, channel) within `windowMs`:
   * a double click or the same command typed twice at once becomes one request.
   * Returns the request id that owns the window (this one, or the first).
   */
  async function claim(fingerprint: Record<string, unknown>, requestId: string, windowMs: number): Promise<string> {
    const hash = crypto.createHash('sha256').update(canonicalJson(fingerprint)).digest('hex').slice(0, 32);
    const key = keys.dedupe(hash);
    const ok = await redis.set(key, requestId, 'PX', windowMs, 'NX');
    if (ok) return requestId;
    return (await redis.get(key)) ?? requestId;
  }

  return { create, get, transition, lock, lockHolder, unlock, claim, keys };
}

export type ActionRequestStore = ReturnType<typeof createActionRequestStore>;

/** A request id from what Slack sends: a retry of the same delivery gives the same id (no ':', as job ids need). */
export function requestIdFrom(kind: 'cmd' | 'btn', triggerId: string | undefined, ...more: Array<string | undefined>): string {
  // Without Slack's trigger id there is nothing stable to derive from: a fresh id (the dedupe window still holds).
  const seed = triggerId ? [triggerId, ...more].filter(Boolean).join('|') : crypto.randomUUID();
  const digest = crypto.createHash('sha256').update(seed).digest('hex').slice(0, 24);
  return `${kind}-${digest}`;
}
