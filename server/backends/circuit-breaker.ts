import { CodedError, ErrorCode } from '../../lib/errors';
import type { BackendName, BreakerState, BreakerStatus } from './types';

export interface CircuitBreakerOptions {
  service: BackendName;
  /** Consecutive failures that open the breaker (the seed's CIRCUIT_BREAKER_FAILURE_THRESHOLD). */
  failureThreshold: number;
  /** How long the breaker stays open before one trial call (CIRCUIT_BREAKER_RECOVERY_TIMEOUT, here in ms). */
  recoveryTimeoutMs: number;
  /** Clock in ms; tests inject their own. @defaultValue Date.now */
  now?: () => number;
  onTransition?: (from: BreakerState, to: BreakerState) => void;
}

export interface CircuitBreaker {
  /**
   * Runs `fn` unless the breaker is open. `isFailure` decides which errors
   * count against the backend (5xx, timeouts, connection errors) and which
   * are the backend answering normally (4xx business errors).
   */
  execute<T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T>;
  status(): BreakerStatus;
  /** Forces the breaker closed with a clean count (ops_reset_circuit_breaker). */
  reset(): BreakerStatus;
}

/**
 * Closed → open after N consecutive failures; open → half-open once the
 * recovery timeout has passed; in half-open exactly one trial call goes
 * through (the rest fail fast), and its outcome closes or re-opens.
 *
 * Why not opossum: it opens on an error percentage over a rolling window
 * (`maxFailures` is deprecated there), which is not the seed's "N consecutive
 * failures", and its reset timer is a real setTimeout that tests cannot drive.
 * This one has no timers at all: open → half-open is decided when someone
 * calls or looks, against an injectable clock.
 *
 * Outcomes of calls that started before the last transition are ignored, so a
 * slow success from before the breaker opened cannot close it behind the
 * trial's back.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now;
  let state: BreakerState = 'closed';
  let failures = 0;
  let since = now();
  let openedAt = 0;
  let trialInFlight = false;
  let generation = 0;

  function moveTo(next: BreakerState): void {
    if (next === state) return;
    const from = state;
    state = next;
    since = now();
    generation += 1;
    if (next === 'open') openedAt = since;
    if (next === 'closed') failures = 0;
    trialInFlight = false;
    options.onTransition?.(from, next);
  }

  /** Lazily applies the recovery timeout. */
  function refresh(): BreakerState {
    if (state === 'open' && now() - openedAt >= options.recoveryTimeoutMs) moveTo('half-open');
    return state;
  }

  function openError(): CodedError {
    const retryMs = Math.max(0, options.recoveryTimeoutMs - (now() - openedAt));
    const detail = state === 'half-open' ? 'a trial call is in flight' : `retry in ~${Math.ceil(retryMs / 1000)}s`;
    return new CodedError(ErrorCode.CircuitOpen, `circuit breaker for ${options.service} is ${state}; failing fast (${detail})`, {
      service: options.service,
      state,
      retryAfterSeconds: Math.ceil(retryMs / 1000),
    });
  }

  function onSuccess(gen: number): void {
    if (gen !== generation) return;
    if (state === 'half-open') moveTo('closed');
    else failures = 0;
  }

  function onFailure(gen: number): void {
    if (gen !== generation) return;
    failures += 1;
    if (state === 'half-open' || failures >= options.failureThreshold) moveTo('open');
  }

  async function execute<T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    const current = refresh();
    if (current === 'open') throw openError();
    if (current === 'half-open') {
      if (trialInFlight) throw openError();
      trialInFlight = true;
    }
    const gen = generation;
    try {
      const result = await fn();
      onSuccess(gen);
      return result;
    } catch (err) {
      if (isFailure(err)) onFailure(gen);
      else onSuccess(gen);
      throw err;
    } finally {
      if (gen === generation && current === 'half-open') trialInFlight = false;
    }
  }

  function status(): BreakerStatus {
    refresh();
    return { service: options.service, state, failures, since: new Date(since).toISOString() };
  }

  return {
    execute,
    status,
    reset() {
      moveTo('closed');
      failures = 0;
      return status();
    },
  };
}
