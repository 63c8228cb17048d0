import express, { type Express } from 'express';
import { listen, type RunningServer } from '../../lib/http';
import { silentLogger } from '../../lib/logger';
import { createAnswerFaults } from './answer-faults';
import { createCallFaults } from './call-faults';
import { createControlRouter } from './control-routes';
import { createFileRouter, fileMethods } from './files';
import { createLiveHub } from './live';
import { createViewRouter } from './view-routes';
import { createRateLimiter, resolveRateLimits } from './rate-limits';
import { createSlackState, type SlackState } from './state';
import { createStats, type SandboxStats } from './stats';
import type { SlackSandboxConfig } from './types';
import { API_METHODS, createWebApiRouter } from './web-api';

export interface SlackSandbox {
  /** The Express app: mount it elsewhere or let `start()` listen with it. */
  app: Express;
  /** Listens on host:port (port 0 picks a free one) and resolves with the URL. */
  start(port: number, host?: string): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
  state: SlackState;
  stats(): SandboxStats;
  /** Back to the seed: no messages, no ephemerals, zero stats and call log, full rate-limit buckets, no faults. */
  reset(): void;
  /** The URL the sandbox answers at (after start, or `publicUrl`). */
  url(): string;
}

/**
 * A local Slack: the Web API the bot calls, plus signed delivery of slash
 * commands and button clicks to the bot's request URL. Unstarted until `start`.
 */
export function createSlackSandbox(config: SlackSandboxConfig): SlackSandbox {
  const logger = config.logger ?? silentLogger();
  const state = createSlackState({ channels: config.channels, users: config.users, usergroups: config.usergroups });
  const stats = createStats();
  const limiter = createRateLimiter(resolveRateLimits(config.rateLimits), config.now);
  const faults = createCallFaults();
  const answers = createAnswerFaults(config.now);
  let running: RunningServer | undefined;
  const baseUrl = () => (config.publicUrl ?? running?.url ?? 'http://127.0.0.1:3100').replace(/\/$/, '');

  const reset = () => {
    state.reset();
    stats.reset();
    limiter.reset();
    faults.clear();
    answers.clear();
  };

  const live = createLiveHub();
  const app = express();
  app.disable('x-powered-by');
  // Anything that is not a GET may change the workspace: the page hears about it once it is answered.
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') res.on('finish', () => live.changed());
    next();
  });
  app.get('/_sandbox/events-stream', (req, res) => live.stream(req, res));
  const extraMethods = fileMethods;
  app.use('/api', createWebApiRouter({ state, stats, limiter, faults, answers, botToken: config.botToken, baseUrl, logger, extraMethods }));
  // Before the control router: uploads are raw or multipart bodies, not JSON.
  app.use('/_sandbox', createFileRouter(state));
  app.use(createViewRouter(state));
  app.use(
    '/_sandbox',
    createControlRouter({
      state,
      stats,
      limiter,
      faults,
      answers,
      methods: [...Object.keys(API_METHODS), ...Object.keys(extraMethods)],
      reset,
      baseUrl,
      delivery: { requestUrl: config.requestUrl, signingSecret: config.signingSecret, timeoutMs: config.deliveryTimeoutMs ?? 3000, logger },
    }),
  );

  return {
    app,
    state,
    stats: () => stats.snapshot(),
    reset,
    url: baseUrl,
    async start(port, host = '127.0.0.1') {
      if (running) return { url: running.url, port: running.port };
      running = await listen(app, port, host);
      logger.info({ url: running.url, requestUrl: config.requestUrl }, 'slack sandbox listening');
      return { url: running.url, port: running.port };
    },
    async stop() {
      const r = running;
      running = undefined;
      live.closeAll();
      await r?.close();
    },
  };
}
