import { ErrorCode, WebClient, type WebAPICallError } from '@slack/web-api';

/**
 * The outbox's own Web API client: a 429 comes back to us at once
 * (`rejectRateLimitedCalls`) instead of the client sleeping inside the call,
 * and nothing is retried inside the client, because retries, Retry-After and
 * backoff are the outbox's job (they must hold across replicas).
 */
export function createOutboxWebClient(token: string, slackApiUrl?: string, timeoutMs = 10_000): WebClient {
  return new WebClient(token, {
    slackApiUrl: slackApiUrl ? (slackApiUrl.endsWith('/') ? slackApiUrl : `${slackApiUrl}/`) : undefined,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: timeoutMs,
  });
}

/** What to do after a failed call. `unknownOutcome`: Slack may have done it (timeout, 5xx). */
export type CallFailure =
  | { kind: 'ratelimited'; retryAfterMs: number }
  | { kind: 'retry'; unknownOutcome: boolean; reason: string }
  | { kind: 'drop'; reason: string };

/** Slack errors worth another try; any other platform error will not get better by retrying. */
const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited', 'team_added_to_org']);

export function classifyFailure(err: unknown): CallFailure {
  const e = err as Partial<WebAPICallError> & { message?: string; retryAfter?: number; statusCode?: number; data?: { error?: string } };
  switch (e?.code) {
    case ErrorCode.RateLimitedError:
      return { kind: 'ratelimited', retryAfterMs: Math.max(1, Number(e.retryAfter ?? 1)) * 1000 };
    case ErrorCode.PlatformError: {
      const reason = e.data?.error ?? 'unknown_error';
      return TRANSIENT.has(reason) ? { kind: 'retry', unknownOutcome: false, reason } : { kind: 'drop', reason };
    }
    case ErrorCode.HTTPError: {
      const status = Number(e.statusCode ?? 0);
      if (status === 429) return { kind: 'ratelimited', retryAfterMs: 1000 };
      if (status >= 500) return { kind: 'retry', unknownOutcome: true, reason: `http_${status}` };
      return { kind: 'drop', reason: `http_${status}` };
    }
    default:
      // Request errors (connection refused, timeout) and anything unexpected.
      return { kind: 'retry', unknownOutcome: true, reason: e?.message ?? String(err) };
  }
}
