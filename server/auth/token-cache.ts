/**
 * Verified bearer tokens, remembered for a short while so that a client
 * sending the same token on every call pays the signature check once a minute
 * instead of once a call (jose HS256 was ~5% of a tools/call's CPU).
 *
 * Why this is safe here: our tokens are short-lived, revocation-free JWTs, so
 * a token that verified a moment ago still verifies now as long as it has not
 * expired. The rules:
 *  - keyed by the exact token string: a token differing in one byte is a miss;
 *  - only successes are stored; a refused token is checked (and counted) again
 *    on every request;
 *  - an entry lives until min(exp, stored + maxAge): never past the token's own
 *    `exp`, and at most maxAge so a JWKS key rotation takes effect soon;
 *  - bounded LRU: the least recently used entry goes first when full.
 */
export interface TokenCacheOptions {
  /** Entries kept at most. @defaultValue 10000 */
  maxEntries?: number;
  /** Longest time an entry is trusted, in ms. @defaultValue 60000 */
  maxAgeMs?: number;
  /** Clock in ms; tests inject their own. @defaultValue Date.now */
  now?: () => number;
}

export interface TokenCache<T> {
  get(token: string): T | undefined;
  /** `expSeconds` is the token's `exp` claim (seconds since epoch). */
  set(token: string, value: T, expSeconds: number): void;
  readonly size: number;
  clear(): void;
}

export function createTokenCache<T>(options: TokenCacheOptions = {}): TokenCache<T> {
  const maxEntries = options.maxEntries ?? 10_000;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  const entries = new Map<string, { value: T; until: number }>();

  return {
    get(token) {
      const e = entries.get(token);
      if (!e) return undefined;
      entries.delete(token);
      if (now() >= e.until) return undefined;
      entries.set(token, e);
      return e.value;
    },
    set(token, value, expSeconds) {
      const at = now();
      const until = Math.min(expSeconds * 1000, at + maxAgeMs);
      if (!(until > at) || maxEntries <= 0) return;
      entries.delete(token);
      entries.set(token, { value, until });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
    },
  };
}
