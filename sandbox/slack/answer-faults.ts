import { z } from 'zod';

/**
 * Answer faults: Slack refusing calls without doing them, as it does when it
 * rate limits a workspace (429 with `Retry-After`) or has an outage (500/503).
 * A faulted call is not performed. Set with `PUT /_sandbox/faults` (`answers`),
 * listed by `GET`, cleared by `DELETE` and by the sandbox reset.
 *
 * Each fault lasts for the next `count` matching calls or for `durationMs` from
 * when it is set (exactly one of the two). When several match a call, the first
 * one listed answers it.
 */
export const AnswerFaultSchema = z
  .strictObject({
    status: z.union([z.literal(429), z.literal(500), z.literal(503)], { error: 'status must be 429, 500 or 503' }),
    /** Web API method names (`chat.postMessage`); left out: every method. */
    methods: z.array(z.string().regex(/^[a-z]+(\.[A-Za-z]+)+$/, 'must be a Web API method name like chat.postMessage')).min(1).max(50).optional(),
    count: z.number().int().positive().max(100_000).optional(),
    durationMs: z.number().int().positive().max(3_600_000).optional(),
    /** Seconds in `Retry-After` (429 only). @defaultValue 1 */
    retryAfterSeconds: z.number().int().min(1).max(3600).optional(),
  })
  .superRefine((f, ctx) => {
    if ((f.count === undefined) === (f.durationMs === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of count and durationMs' });
    }
    if (f.retryAfterSeconds !== undefined && f.status !== 429) {
      ctx.addIssue({ code: 'custom', path: ['retryAfterSeconds'], message: 'only a 429 carries Retry-After' });
    }
  });

export type AnswerFaultInput = z.input<typeof AnswerFaultSchema>;

/** An armed answer fault as `GET /_sandbox/faults` lists it. */
export interface AnswerFaultView {
  status: 429 | 500 | 503;
  /** Absent: every method. */
  methods?: string[];
  retryAfterSeconds?: number;
  /** Calls it still answers (count faults). */
  remainingCount?: number;
  /** Milliseconds it still lasts (duration faults). */
  remainingMs?: number;
}

/** What the Web API answers a faulted call with: Slack's shapes. */
export interface FaultAnswer {
  status: 429 | 500 | 503;
  headers: Record<string, string>;
  body: { ok: false; error: string };
}

interface Armed {
  status: 429 | 500 | 503;
  methods?: Set<string>;
  retryAfterSeconds: number;
  remaining?: number;
  until?: number;
}

const ERRORS = { 429: 'ratelimited', 500: 'internal_error', 503: 'service_unavailable' } as const;

export function createAnswerFaults(now: () => number = Date.now) {
  let armed: Armed[] = [];

  const active = (f: Armed, t: number) => (f.remaining !== undefined ? f.remaining > 0 : (f.until ?? 0) > t);

  return {
    /** Replaces the armed faults (already validated). */
    set(list: Array<z.output<typeof AnswerFaultSchema>>): void {
      const t = now();
      armed = list.map((f) => ({
        status: f.status,
        methods: f.methods ? new Set(f.methods) : undefined,
        retryAfterSeconds: f.retryAfterSeconds ?? 1,
        remaining: f.count,
        until: f.durationMs !== undefined ? t + f.durationMs : undefined,
      }));
    },
    clear(): void {
      armed = [];
    },
    /** The answer for this call of `method` when a fault is active for it (a count fault is counted down). */
    take(method: string): FaultAnswer | undefined {
      const t = now();
      const f = armed.find((x) => active(x, t) && (!x.methods || x.methods.has(method)));
      if (!f) return undefined;
      if (f.remaining !== undefined) f.remaining -= 1;
      return {
        status: f.status,
        headers: f.status === 429 ? { 'Retry-After': String(f.retryAfterSeconds) } : {},
        body: { ok: false, error: ERRORS[f.status] },
      };
    },
    /** Active faults only: used-up and expired ones are not listed. */
    list(): AnswerFaultView[] {
      const t = now();
      return armed
        .filter((f) => active(f, t))
        .map((f) => ({
          status: f.status,
          ...(f.methods ? { methods: [...f.methods] } : {}),
          ...(f.status === 429 ? { retryAfterSeconds: f.retryAfterSeconds } : {}),
          ...(f.remaining !== undefined ? { remainingCount: f.remaining } : { remainingMs: Math.max(0, (f.until ?? t) - t) }),
        }));
    },
  };
}

export type AnswerFaults = ReturnType<typeof createAnswerFaults>;
