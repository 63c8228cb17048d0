export { freePort } from '../../lib/http';

/** Polls `check` until it returns a value or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 5000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message} ${String((last as { cause?: unknown }).cause ?? '')}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
