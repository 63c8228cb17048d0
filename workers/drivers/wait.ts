import { CodedError, ErrorCode } from '../../lib/errors';

/** Seconds with one decimal, as people read them: 2300 → "2.3 s". */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Resolves after `ms`, early (rejecting) when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function aborted(): CodedError {
  return new CodedError(ErrorCode.BackendUnavailable, 'the action ran out of time (its job was cancelled)');
}

/**
 * Polls `check` every `everyMs` until it returns a value or `timeoutMs`
 * passes (then resolves undefined). `check` errors count as "not yet".
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; everyMs?: number; signal?: AbortSignal },
): Promise<T | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof CodedError && err.code !== ErrorCode.BackendUnavailable) throw err;
    }
    if (Date.now() >= deadline) return undefined;
    await pause(Math.min(options.everyMs ?? 200, Math.max(0, deadline - Date.now())), options.signal);
  }
}

export interface ReadyOutcome {
  ok: boolean;
  ms: number;
  /** The last answer: "200", "503", or the connection error. */
  last: string;
}

/** Polls `url` until it answers 2xx, for at most `timeoutMs`; each attempt times out after 2 s. */
export async function waitForReadyUrl(url: string, timeoutMs: number, signal?: AbortSignal): Promise<ReadyOutcome> {
  const t0 = Date.now();
  let last = 'no answer';
  const ok = await pollUntil(
    async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        last = String(res.status);
        return res.ok ? true : undefined;
      } catch (err) {
        last = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
        return undefined;
      }
    },
    { timeoutMs, everyMs: 200, signal },
  );
  return { ok: ok === true, ms: Date.now() - t0, last };
}
