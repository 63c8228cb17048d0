/**
 * Slack's published Web API rate limits, as one table. Tiers are per method
 * per workspace; chat.postMessage is "1 per second per channel, short bursts
 * allowed". Each limit is a token bucket: `burst` calls at once, refilled at
 * `perMinute`. A call over the limit gets 429 with `Retry-After` in seconds.
 */
export interface RateLimit {
  /** Sustained calls per minute. */
  perMinute: number;
  /** Calls allowed at once before the sustained rate applies. */
  burst: number;
  /** `channel`: one bucket per channel (chat.postMessage); `method`: one per method. */
  scope: 'method' | 'channel';
}

export type RateLimitTable = Record<string, RateLimit>;
export type RateLimitOverrides = Record<string, Partial<RateLimit>>;

/** Slack's tiers: Tier 1 1+/min, Tier 2 20+/min, Tier 3 50+/min, Tier 4 100+/min. */
export const TIERS = {
  tier1: { perMinute: 1, burst: 1, scope: 'method' },
  tier2: { perMinute: 20, burst: 20, scope: 'method' },
  tier3: { perMinute: 50, burst: 50, scope: 'method' },
  tier4: { perMinute: 100, burst: 100, scope: 'method' },
} as const satisfies Record<string, RateLimit>;

export const SLACK_RATE_LIMITS: RateLimitTable = {
  // Special tier: 1 per second per channel; a few at once are tolerated.
  'chat.postMessage': { perMinute: 60, burst: 5, scope: 'channel' },
  'chat.postEphemeral': TIERS.tier4,
  'chat.update': TIERS.tier3,
  'chat.delete': TIERS.tier3,
  'chat.getPermalink': TIERS.tier4,
  'conversations.history': TIERS.tier3,
  'conversations.replies': TIERS.tier3,
  'conversations.info': TIERS.tier3,
  'conversations.list': TIERS.tier2,
  'conversations.members': TIERS.tier4,
  'conversations.open': TIERS.tier3,
  'conversations.join': TIERS.tier3,
  'users.list': TIERS.tier2,
  'users.info': TIERS.tier4,
  'users.lookupByEmail': TIERS.tier3,
  'reactions.add': TIERS.tier3,
  'reactions.remove': TIERS.tier2,
  'reactions.get': TIERS.tier3,
  'files.getUploadURLExternal': TIERS.tier4,
  'files.completeUploadExternal': TIERS.tier4,
  'files.info': TIERS.tier4,
  // auth.test is "special": effectively unlimited for a bot checking itself.
  'auth.test': { perMinute: 6000, burst: 600, scope: 'method' },
};

/** The defaults with overrides merged over them, or no limits at all for `false`. */
export function resolveRateLimits(overrides: RateLimitOverrides | false | undefined): RateLimitTable {
  if (overrides === false) return {};
  const table: RateLimitTable = { ...SLACK_RATE_LIMITS };
  for (const [method, partial] of Object.entries(overrides ?? {})) {
    const base = table[method] ?? TIERS.tier3;
    table[method] = { ...base, ...partial };
  }
  return table;
}

export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Token buckets keyed by method (and channel where the limit is per channel). */
export function createRateLimiter(initial: RateLimitTable, now: () => number = Date.now) {
  let table = initial;
  const buckets = new Map<string, { tokens: number; at: number }>();

  function check(method: string, channelId: string | undefined): RateVerdict {
    const limit = table[method];
    if (!limit) return { allowed: true };
    const key = limit.scope === 'channel' ? `${method}:${channelId ?? '-'}` : method;
    const t = now();
    const perMs = limit.perMinute / 60_000;
    const bucket = buckets.get(key) ?? { tokens: limit.burst, at: t };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    // Whole seconds until one token is back, as Slack's Retry-After is; never 0.
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
  }

  return {
    check,
    table: () => table,
    /** Replace the table (tests and the control API); buckets start full again. */
    setTable(next: RateLimitTable) {
      table = next;
      buckets.clear();
    },
    reset: () => buckets.clear(),
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
