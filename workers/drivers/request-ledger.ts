import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { DriverResult } from './types';

/**
 * What each lifecycle request did, keyed by its requestId, so a job that
 * BullMQ hands out again (its worker was killed) never acts on the target a
 * second time. `begin` records `started` before the target is touched; a
 * driver writes notes (markers it can recognise on the target, e.g. the
 * restartedAt value it patched) before each side effect and `done` with the
 * result at the end. A second call finds `done` (report it) or `started`
 * (resume: look at the target for the markers before acting).
 *
 * Key: `<prefix>:platform:requests:<requestId>` (hash), kept 7 days.
 */
const TTL_SECONDS = 7 * 86_400;

const ResultSchema = z.object({ ok: z.boolean(), summary: z.string(), version: z.string().optional(), detail: z.string().optional() });

export interface LedgerEntry {
  /** True when this call created the entry; false when an earlier call with the same requestId did. */
  fresh: boolean;
  state: 'started' | 'done';
  startedAt: number;
  notes: Record<string, unknown>;
  result?: DriverResult;
}

const BEGIN = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'what', ARGV[1], 'state', 'started', 'startedAt', ARGV[2], 'notes', '{}')
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return {1}
end
return {0, redis.call('HGET', KEYS[1], 'what'), redis.call('HGET', KEYS[1], 'state'), redis.call('HGET', KEYS[1], 'startedAt'),
  redis.call('HGET', KEYS[1], 'notes'), redis.call('HGET', KEYS[1], 'result') or ''}
`;

export interface RequestLedger {
  /** `what` names the request ("restart mcp-server"); a requestId reused for something else is refused. */
  begin(requestId: string, what: string): Promise<LedgerEntry>;
  /** Merges notes; call before the side effect they describe. */
  note(requestId: string, notes: Record<string, unknown>): Promise<void>;
  finish(requestId: string, result: DriverResult): Promise<void>;
}

export function createRequestLedger(options: { redis: Redis; prefix: string }): RequestLedger {
  const { redis, prefix } = options;
  const key = (id: string) => `${prefix}:platform:requests:${id}`;

  return {
    async begin(requestId, what) {
      const now = Date.now();
      const reply = (await redis.eval(BEGIN, 1, key(requestId), what, String(now), String(TTL_SECONDS))) as Array<string | number>;
      if (reply[0] === 1) return { fresh: true, state: 'started', startedAt: now, notes: {} };
      const [, earlier, state, startedAt, notes, result] = reply as [number, string, string, string, string, string];
      if (earlier !== what) {
        throw new CodedError(ErrorCode.IdempotencyConflict, `request ${requestId} was already used for "${earlier}", not "${what}"`);
      }
      return {
        fresh: false,
        state: state === 'done' ? 'done' : 'started',
        startedAt: Number(startedAt),
        notes: z.record(z.string(), z.unknown()).parse(JSON.parse(notes || '{}')),
        result: result ? ResultSchema.parse(JSON.parse(result)) : undefined,
      };
    },
    async note(requestId, notes) {
      const raw = await redis.hget(key(requestId), 'notes');
      const merged = { ...(raw ? (JSON.parse(raw) as Record<string, unknown>) : {}), ...notes };
      await redis.hset(key(requestId), 'notes', JSON.stringify(merged));
    },
    async finish(requestId, result) {
      await redis.hset(key(requestId), 'state', 'done', 'result', JSON.stringify(result));
    },
  };
}

/**
 * The common shape of every lifecycle call: a `done` request reports what it
 * did (nothing is repeated); otherwise `perform` runs, told whether an earlier
 * attempt started (then it must check the target before acting).
 */
export async function once(
  ledger: RequestLedger,
  requestId: string,
  what: string,
  perform: (entry: LedgerEntry) => Promise<DriverResult>,
): Promise<DriverResult> {
  const entry = await ledger.begin(requestId, what);
  if (entry.state === 'done' && entry.result) {
    return { ...entry.result, summary: `${entry.result.summary} (request ${requestId} was already done; nothing was repeated)` };
  }
  const result = await perform(entry);
  await ledger.finish(requestId, result);
  return result;
}
