import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { DriverResult } from './types';
import { pause } from './wait';

/**
 * What each lifecycle request did, keyed by its requestId, so a job that
 * BullMQ hands out again (its worker was killed) never acts on the target a
 * second time. `begin` records `started` before the target is touched; a
 * driver writes notes (markers it can recognise on the target, e.g. the
 * restartedAt value it patched) before each side effect and `done` with the
 * result at the end. A second call finds `done` (report it) or `started`
 * (resume: look at the target for the markers before acting).
 *
 * One attempt at a time: the attempt that runs holds a lease it renews; a
 * second attempt while the lease is live waits for the first one's result,
 * and takes over (resumes) only once the lease has run out (its worker died).
 *
 * Key: `<prefix>:platform:requests:<requestId>` (hash: what, state,
 * startedAt, lease, owner, result, `n:<note>`), kept 7 days.
 */
const TTL_SECONDS = 7 * 86_400;
const NOTE = 'n:';

const ResultSchema = z.object({ ok: z.boolean(), summary: z.string(), version: z.string().optional(), detail: z.string().optional() });

export interface LedgerEntry {
  /** True when this call created the entry; false when an earlier attempt with the same requestId did. */
  fresh: boolean;
  state: 'started' | 'done' | 'busy';
  startedAt: number;
  notes: Record<string, unknown>;
  result?: DriverResult;
  /** This attempt's lease token (started entries). */
  owner?: string;
}

// Returns {kind, fields...}: fresh | done | busy | resumed | conflict.
const BEGIN = `
local now = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'what', ARGV[1], 'state', 'started', 'startedAt', ARGV[2], 'lease', now + tonumber(ARGV[4]), 'owner', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return {'fresh'}
end
local what = redis.call('HGET', KEYS[1], 'what')
if what ~= ARGV[1] then return {'conflict', what} end
if redis.call('HGET', KEYS[1], 'state') == 'done' then return {'done', unpack(redis.call('HGETALL', KEYS[1]))} end
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease') or '0')
if lease > now then return {'busy'} end
redis.call('HSET', KEYS[1], 'lease', now + tonumber(ARGV[4]), 'owner', ARGV[5])
return {'resumed', unpack(redis.call('HGETALL', KEYS[1]))}
`;

// Renews (ARGV[2] > 0) or gives back (ARGV[2] == 0) the lease, if this attempt still holds it.
const LEASE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lease', ARGV[2])
return 1
`;

export interface RequestLedgerOptions {
  redis: Redis;
  prefix: string;
  /** How long an attempt's claim lasts without renewal (a killed worker's request is resumed after it). @defaultValue 30000 */
  leaseMs?: number;
}

export interface RequestLedger {
  readonly leaseMs: number;
  /** `what` names the request ("restart mcp-server"); a requestId reused for something else is refused. */
  begin(requestId: string, what: string): Promise<LedgerEntry>;
  /** Records notes (one field each); call before the side effect they describe. */
  note(requestId: string, notes: Record<string, unknown>): Promise<void>;
  renew(requestId: string, owner: string): Promise<void>;
  release(requestId: string, owner: string): Promise<void>;
  finish(requestId: string, result: DriverResult): Promise<void>;
}

function fromFields(flat: string[]): { notes: Record<string, unknown>; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  const notes: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i]!;
    const v = flat[i + 1]!;
    if (k.startsWith(NOTE)) notes[k.slice(NOTE.length)] = JSON.parse(v);
    else fields[k] = v;
  }
  return { notes, fields };
}

export function createRequestLedger(options: RequestLedgerOptions): RequestLedger {
  const { redis, prefix } = options;
  const leaseMs = options.leaseMs ?? 30_000;
  const key = (id: string) => `${prefix}:platform:requests:${id}`;

  return {
    leaseMs,
    async begin(requestId, what) {
      const now = Date.now();
      const owner = randomUUID();
      const [kind, ...rest] = (await redis.eval(BEGIN, 1, key(requestId), what, String(now), String(TTL_SECONDS), String(leaseMs), owner)) as string[];
      if (kind === 'fresh') return { fresh: true, state: 'started', startedAt: now, notes: {}, owner };
      if (kind === 'conflict') throw new CodedError(ErrorCode.IdempotencyConflict, `request ${requestId} was already used for "${rest[0]}", not "${what}"`);
      if (kind === 'busy') return { fresh: false, state: 'busy', startedAt: 0, notes: {} };
      const { notes, fields } = fromFields(rest);
      return {
        fresh: false,
        state: kind === 'done' ? 'done' : 'started',
        startedAt: Number(fields.startedAt),
        notes,
        result: fields.result ? ResultSchema.parse(JSON.parse(fields.result)) : undefined,
        owner: kind === 'done' ? undefined : owner,
      };
    },
    async note(requestId, notes) {
      const flat = Object.entries(notes).flatMap(([k, v]) => [`${NOTE}${k}`, JSON.stringify(v)]);
      if (flat.length > 0) await redis.hset(key(requestId), ...flat);
    },
    async renew(requestId, owner) {
      await redis.eval(LEASE, 1, key(requestId), owner, String(Date.now() + leaseMs));
    },
    async release(requestId, owner) {
      await redis.eval(LEASE, 1, key(requestId), owner, '0');
    },
    async finish(requestId, result) {
      await redis.hset(key(requestId), 'state', 'done', 'result', JSON.stringify(result), 'lease', '0');
    },
  };
}

export interface OnceOptions {
  /** How long a second attempt waits for the first one's result. @defaultValue 10 min */
  maxWaitMs?: number;
}

/**
 * The common shape of every lifecycle call: a `done` request reports what it
 * did (nothing is repeated); one that another attempt is running waits for
 * it; otherwise `perform` runs, told whether an earlier attempt started (then
 * it must check the target before acting).
 */
export async function once(
  ledger: RequestLedger,
  ctx: { requestId: string; signal?: AbortSignal },
  what: string,
  perform: (entry: LedgerEntry) => Promise<DriverResult>,
  options: OnceOptions = {},
): Promise<DriverResult> {
  const { requestId } = ctx;
  const deadline = Date.now() + (options.maxWaitMs ?? 600_000);
  let entry = await ledger.begin(requestId, what);
  while (entry.state === 'busy') {
    if (Date.now() > deadline) {
      throw new CodedError(ErrorCode.Conflict, `request ${requestId} (${what}) is still being run by another worker; gave up waiting for its result`);
    }
    await pause(Math.min(250, ledger.leaseMs / 4), ctx.signal);
    entry = await ledger.begin(requestId, what);
  }
  if (entry.state === 'done' && entry.result) {
    return { ...entry.result, summary: `${entry.result.summary} (request ${requestId} was already done; nothing was repeated)` };
  }
  const owner = entry.owner!;
  const renewal = setInterval(() => void ledger.renew(requestId, owner).catch(() => undefined), ledger.leaseMs / 3);
  try {
    const result = await perform(entry);
    await ledger.finish(requestId, result);
    return result;
  } catch (err) {
    // Give the request back at once: BullMQ's retry resumes it without waiting for the lease to run out.
    await ledger.release(requestId, owner).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(renewal);
  }
}
