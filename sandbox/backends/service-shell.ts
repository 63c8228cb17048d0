import express, { type Express } from 'express';
import { listen, type RunningServer } from '../../lib/http';
import type { Logger } from '../../lib/logger';
import { createMetricsRegistry, metricsHandler } from '../../lib/metrics';
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
 *
 * `/metrics` (process memory and CPU, in the Prometheus text format) is there
 * so that Prometheus's `up{job=~"account-service|transaction-service"}`, the
 * seed's dependency-health query, reads 1 for a running simulator. It sits
 * behind the faults like `/health`: a simulator made "down" for a drill also
 * fails its scrape, and its `up` goes to 0 as a real outage would.
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
  // No default Node metrics: tests start many simulators in one process, and each set would add perf hooks.
  app.get('/metrics', metricsHandler(createMetricsRegistry({ service: name, defaultMetrics: false })));
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
