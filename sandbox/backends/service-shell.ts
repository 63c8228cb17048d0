import express, { type Express } from 'express';
import { listen, type RunningServer } from '../../lib/http';
import type { Logger } from '../../lib/logger';
import { errorMiddleware, notFoundMiddleware } from './http-errors';
import type { FaultControl } from './faults';

/** What each simulator factory returns: built, not listening. */
export interface SimulatorService {
  readonly name: string;
  readonly app: Express;
  readonly faults: FaultControl;
  /** Listens on `port` (0 = ephemeral) and `host` (default 127.0.0.1). */
  start(port?: number, host?: string): Promise<RunningServer>;
  stop(): Promise<void>;
  /** Base URL once started. */
  url(): string;
}

/**
 * The common frame of a simulator: JSON body, the fault router and middleware
 * in front of every business route, 404 and error handlers behind them.
 */
export function createServiceShell(
  name: string,
  faults: FaultControl,
  logger: Logger,
  mount: (app: Express) => void,
): SimulatorService {
  const app = express();
  app.disable('x-powered-by');
  // Hashing every JSON body for an ETag is wasted work for an API no one caches.
  app.set('etag', false);
  app.use(express.json({ limit: '64kb' }));
  app.use(faults.router());
  app.use(faults.middleware);
  mount(app);
  app.use(notFoundMiddleware);
  app.use(errorMiddleware);

  let running: RunningServer | undefined;
  return {
    name,
    app,
    faults,
    async start(port = 0, host = '127.0.0.1') {
      if (running) throw new Error(`${name} already started`);
      running = await listen(app, port, host);
      logger.info({ url: running.url }, `${name} simulator listening`);
      return running;
    },
    async stop() {
      const r = running;
      running = undefined;
      if (r) await r.close();
    },
    url() {
      if (!running) throw new Error(`${name} not started`);
      return running.url;
    },
  };
}
