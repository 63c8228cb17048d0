import { retryPolicies, type FetchFunction, type RetryOptions, type WebClientOptions } from '@slack/web-api';

/** What p-retry hands `onFailedAttempt`: the attempt's error, numbered. */
type FailedAttempt = Error & { attemptNumber: number; retriesLeft: number };

/**
 * Web API client options for Bolt's `app.client` (channel lookups, user groups,
 * auth.test) whose calls end with the bot. The WebClient retries a failed call
 * for about half an hour and gives no way to cancel it: a call still retrying
 * when the bot stops (the start's channel-id refresh while Slack answers 500)
 * would keep hitting Slack and hold the process open with its backoff timer.
 * Here the backoff waits in `onFailedAttempt` (the retry library's own timer is
 * 0 ms), where `stop()` can end it, and `stop()` also aborts the request in
 * flight; the call then rejects with its last error and nothing is left behind.
 */
export function createStoppableSlackClient(slackApiUrl?: string, policy: RetryOptions = retryPolicies.tenRetriesInAboutThirtyMinutes) {
  const stopped = new AbortController();
  const fetchWithStop: FetchFunction = (url, init) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, stopped.signal]) : stopped.signal });

  /** The wait before the next attempt, as the retry library computes it for `policy`. */
  function backoffMs(attemptNumber: number): number {
    const random = policy.randomize ? 1 + Math.random() : 1;
    const ms = Math.round(random * Math.max(policy.minTimeout ?? 1000, 1) * (policy.factor ?? 2) ** (attemptNumber - 1));
    return Math.min(ms, policy.maxTimeout ?? Number.POSITIVE_INFINITY);
  }

  function wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopped.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopped.signal.addEventListener('abort', done, { once: true });
    });
  }

  // p-retry (the WebClient's retry loop) reads onFailedAttempt; the WebClient's RetryOptions type does not list it.
  const retryConfig: RetryOptions & { onFailedAttempt(err: FailedAttempt): Promise<void> } = {
    retries: policy.retries ?? 10,
    minTimeout: 0,
    maxTimeout: 0,
    // Throwing here ends the retries: the call rejects with this (its last) error.
    async onFailedAttempt(err) {
      if (stopped.signal.aborted) throw err;
      if (err.retriesLeft <= 0) return;
      await wait(backoffMs(err.attemptNumber));
      if (stopped.signal.aborted) throw err;
    },
  };
  const options: WebClientOptions = { ...(slackApiUrl ? { slackApiUrl } : {}), fetch: fetchWithStop, retryConfig };

  return {
    options,
    /** Ends the calls in flight and their retries; later calls fail at once. */
    stop: () => stopped.abort(),
  };
}
