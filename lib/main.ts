import { isCodedError } from './errors';

/**
 * The shape of every process entry point: start, then stop cleanly on SIGINT or
 * SIGTERM. A bad config stops the process with one clear line, not a stack trace.
 */
export function runMain(name: string, start: () => Promise<() => Promise<void>>): void {
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      console.error(`${name}: did not stop within 10 s after ${signal}, exiting`);
      process.exit(1);
    }, 10_000);
    timer.unref();
    try {
      await stop?.();
      process.exit(0);
    } catch (err) {
      console.error(`${name}: error while stopping: ${(err as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // Started by `npm start` with an IPC channel: if that parent dies, so do we (no orphans holding ports).
  if (process.send) process.on('disconnect', () => void shutdown('parent exit'));

  start().then(
    (s) => {
      stop = s;
    },
    (err) => {
      const message = isCodedError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
      console.error(`${name}: cannot start: ${message}`);
      process.exit(1);
    },
  );
}
