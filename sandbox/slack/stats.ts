/** Per-method counts, in total and by channel id: what `GET /_sandbox/stats` returns. */
export interface MethodCounts {
  total: number;
  byChannel: Record<string, number>;
}

export interface SandboxStats {
  calls: Record<string, MethodCounts>;
  ratelimited: Record<string, MethodCounts>;
  /** Calls answered by an answer fault (`PUT /_sandbox/faults` `answers`), 429s included. */
  faulted: Record<string, MethodCounts>;
}

/**
 * One Web API call as `GET /_sandbox/calls` lists it: when it arrived and when
 * its answer was sent (epoch ms), and what the answer was. Lets a test check
 * what a client did after a 429 (did it wait `Retry-After`?).
 */
export interface CallRecord {
  method: string;
  channel?: string;
  at: number;
  /** When the answer was written; absent while in flight or when no answer came (a hang fault). */
  answeredAt?: number;
  /** HTTP status of the answer (200 also for `{ok: false}` refusals); 0 while in flight or when none was sent (a hang fault). */
  status: number;
  /** `ok: false` answers: Slack's error code. */
  error?: string;
  /** 429s: the `Retry-After` seconds sent. */
  retryAfter?: number;
  /** Answered by an answer fault rather than by the method (or the rate limiter). */
  faulted?: boolean;
}

/** The call log keeps the most recent calls (at least this many, at most 10% more), so a long soak cannot grow it without bound. */
export const CALL_LOG_MAX = 20_000;

function emptyStats(): SandboxStats {
  return { calls: {}, ratelimited: {}, faulted: {} };
}

/** Counts every Web API call the sandbox answered and every one it refused with 429 or a fault; logs each call. */
export function createStats() {
  let stats = emptyStats();
  let log: CallRecord[] = [];

  function bump(kind: keyof SandboxStats, method: string, channelId: string | undefined): void {
    const counts = (stats[kind][method] ??= { total: 0, byChannel: {} });
    counts.total += 1;
    if (channelId) counts.byChannel[channelId] = (counts.byChannel[channelId] ?? 0) + 1;
  }

  return {
    call: (method: string, channelId?: string) => bump('calls', method, channelId),
    ratelimited: (method: string, channelId?: string) => bump('ratelimited', method, channelId),
    faulted: (method: string, channelId?: string) => bump('faulted', method, channelId),
    /** Starts a call's record; the caller fills in the answer. */
    record(method: string, channelId: string | undefined, at: number): CallRecord {
      const entry: CallRecord = { method, ...(channelId ? { channel: channelId } : {}), at, status: 0 };
      log.push(entry);
      // Trimmed in steps, so a long soak does not copy the whole log on every call.
      if (log.length > CALL_LOG_MAX + CALL_LOG_MAX / 10) log = log.slice(-CALL_LOG_MAX);
      return entry;
    },
    calls: (method?: string): CallRecord[] => log.filter((c) => !method || c.method === method).map((c) => ({ ...c })),
    snapshot: (): SandboxStats => structuredClone(stats),
    reset: () => {
      stats = emptyStats();
      log = [];
    },
  };
}

export type Stats = ReturnType<typeof createStats>;
