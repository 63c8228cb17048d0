import type { z } from 'zod';
import { CodedError, ErrorCode, ValidationError } from '../errors';

/**
 * HTTP reads from a source being imported (Grafana OnCall, Opsgenie,
 * PagerDuty): one auth header, a bounded timeout, every answer parsed with
 * the caller's zod schema, 401/403 turned into coded errors carrying the
 * source's own message, and 429 honoured (Retry-After, RateLimit-Reset,
 * X-RateLimit-Reset, Opsgenie's X-RateLimit-Period-In-Sec) a bounded number
 * of times. GET only: an importer never writes to the source.
 */

export interface SourceClientOptions {
  /** Human name for messages: "Grafana OnCall". */
  source: string;
  baseUrl: string;
  /** The whole Authorization header value, e.g. `GenieKey abc`. */
  authorization: string;
  /** @defaultValue application/json */
  accept?: string;
  /** @defaultValue 15000 */
  timeoutMs?: number;
  /** Retries after 429 before giving up. @defaultValue 5 */
  maxRateLimitRetries?: number;
  /** The longest wait a rate-limit answer may ask for. @defaultValue 60000 */
  maxWaitMs?: number;
}

export interface SourceClient {
  /** GETs `pathOrUrl` (relative to the base URL, or an absolute URL on the same origin) and parses it. */
  get<T extends z.ZodType>(pathOrUrl: string, schema: T, query?: Record<string, string | number>): Promise<z.output<T>>;
  /** How many 429 answers were waited out. */
  readonly rateLimited: number;
  readonly baseUrl: string;
}

/** Milliseconds a 429 asks us to wait, from the headers the three sources send. */
export function retryDelayMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter.trim())) return Math.ceil(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('ratelimit-reset') ?? headers.get('x-ratelimit-reset');
  if (reset && /^\d+(\.\d+)?$/.test(reset.trim())) {
    const n = Number(reset);
    // Epoch seconds (PagerDuty's and GitHub-style) versus seconds from now (the IETF draft).
    return n > 1e9 ? Math.max(0, n * 1000 - now) : Math.ceil(n * 1000);
  }
  const period = headers.get('x-ratelimit-period-in-sec');
  if (period && /^\d+$/.test(period.trim())) return Number(period) * 1000;
  return undefined;
}

function sourceMessage(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const nested = b.error && typeof b.error === 'object' ? (b.error as Record<string, unknown>).message : undefined;
    for (const v of [b.detail, b.message, nested, b.error]) if (typeof v === 'string' && v) return v;
  }
  return typeof body === 'string' && body ? body.slice(0, 200) : 'no message';
}

export function createSourceClient(options: SourceClientOptions): SourceClient {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxRetries = options.maxRateLimitRetries ?? 5;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  let rateLimited = 0;

  function resolve(pathOrUrl: string, query?: Record<string, string | number>): URL {
    const url = /^https?:\/\//.test(pathOrUrl) ? new URL(pathOrUrl) : new URL(pathOrUrl.replace(/^\//, ''), base);
    // A `next` link pointing elsewhere would send our token there: refuse it.
    if (url.origin !== base.origin) throw new ValidationError(`${options.source}: refusing to follow a link to another origin (${url.origin})`);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
    return url;
  }

  async function get<T extends z.ZodType>(pathOrUrl: string, schema: T, query?: Record<string, string | number>): Promise<z.output<T>> {
    const url = resolve(pathOrUrl, query);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          headers: { Authorization: options.authorization, Accept: options.accept ?? 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new CodedError(ErrorCode.BackendUnavailable, `${options.source}: GET ${url.pathname} failed: ${(err as Error).message}`);
      }
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text for the message
      }
      if (res.status === 429) {
        const wait = retryDelayMs(res.headers) ?? 1000 * 2 ** attempt;
        if (attempt >= maxRetries || wait > maxWaitMs) {
          throw new CodedError(ErrorCode.BackendUnavailable, `${options.source}: rate limited on ${url.pathname} (${sourceMessage(body)}); try again later`);
        }
        rateLimited += 1;
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (res.status === 401) throw new CodedError(ErrorCode.Unauthorized, `${options.source}: the API token was refused (401: ${sourceMessage(body)})`);
      if (res.status === 403) throw new CodedError(ErrorCode.Forbidden, `${options.source}: the API token may not read ${url.pathname} (403: ${sourceMessage(body)})`);
      if (!res.ok) throw new CodedError(ErrorCode.BackendUnavailable, `${options.source}: GET ${url.pathname} answered ${res.status}: ${sourceMessage(body)}`);
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
        throw new ValidationError(`${options.source}: unexpected answer from ${url.pathname}: ${issues.join('; ')}`, issues);
      }
      return parsed.data;
    }
  }

  return {
    get,
    get rateLimited() {
      return rateLimited;
    },
    baseUrl: base.toString(),
  };
}
