import express from 'express';
import type { Redis } from 'ioredis';
import { listen, type RunningServer } from '../lib/http';
import type { Logger } from '../lib/logger';
import { createMcpClient, type McpClient } from '../lib/mcp-client';
import { createMetricsRegistry, metricsHandler, type Registry } from '../lib/metrics';
import { closeRedis, createRedis } from '../lib/redis';
import { WORKER_SCOPES } from '../lib/worker-key';
import { createSlackOutboxProducer, type SlackOutboxProducer } from '../lib/slack-outbox';
import { createSilenceClient } from '../lib/alertmanager-silences';
import { createAuditLog } from '../lib/audit-log';
import { loadOpsConfig, type OpsConfig } from '../lib/ops-config';
import type { PlatformDriver } from './drivers/types';
import type { WorkersEnv } from './config';
import { createWorkerMetrics } from './metrics';
import { createRunbookWorker } from './runbook-worker';
import { createRemediationWorker } from './remediation-worker';

export interface WorkersDeps {
  logger: Logger;
  registry?: Registry;
  /** Override the MCP client (by default it signs its own ops-only token with WORKERS_JWT_PRIVATE_KEY). */
  mcp?: McpClient;
  /** The ops config; read from OPS_CONFIG (or the built-in default) when not given. */
  opsConfig?: OpsConfig;
  /** The platform driver lifecycle actions go through. */
  driver?: PlatformDriver;
}

/** Builds the workers process, unstarted: BullMQ consumers plus a /metrics endpoint. */
export function createWorkersApp(env: WorkersEnv, deps: WorkersDeps) {
  const registry = deps.registry ?? createMetricsRegistry({ service: 'workers' });
  const metrics = createWorkerMetrics(registry);
  const mcp =
    deps.mcp ??
    createMcpClient({
      url: env.MCP_SERVER_URL,
      clientName: 'mcp-financial-ops-workers',
      auth: {
        mint: { privateKey: env.WORKERS_JWT_PRIVATE_KEY, subject: 'ops-workers', scope: WORKER_SCOPES.join(' '), issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
      },
    });

  const opsConfig = deps.opsConfig ?? loadOpsConfig(env.OPS_CONFIG);
  let connection: Redis | undefined;
  // Replies reach Slack through the bot's outbox, never from here.
  let slack: SlackOutboxProducer | undefined;
  let worker: ReturnType<typeof createRunbookWorker> | undefined;
  let remediations: ReturnType<typeof createRemediationWorker> | undefined;
  let http: RunningServer | undefined;

  async function start(): Promise<RunningServer> {
    connection = createRedis(env.REDIS_URL);
    slack = createSlackOutboxProducer({ connection, prefix: env.REDIS_PREFIX, logger: deps.logger });
    const audit = createAuditLog({ redis: connection, prefix: env.REDIS_PREFIX });
    remediations = createRemediationWorker({ connection, prefix: env.REDIS_PREFIX, mcp, slack, audit, logger: deps.logger, metrics });
    worker = createRunbookWorker({
      connection,
      prefix: env.REDIS_PREFIX,
      concurrency: env.WORKER_CONCURRENCY,
      mcp,
      slack,
      audit,
      logger: deps.logger,
      metrics,
      ...(deps.driver ? { driver: deps.driver } : {}),
      ...(env.ALERTMANAGER_URL ? { silences: createSilenceClient(env.ALERTMANAGER_URL) } : {}),
      ...(env.PROMETHEUS_URL ? { prometheusUrl: env.PROMETHEUS_URL } : {}),
      announceChannel: opsConfig.channels.P3,
    });
    const web = express();
    web.disable('x-powered-by');
    web.get('/metrics', metricsHandler(registry));
    web.get('/health', async (_req, res) => {
      const running = worker?.isRunning() ?? false;
      res.status(running ? 200 : 503).json({ status: running ? 'ok' : 'stopped' });
    });
    http = await listen(web, env.WORKERS_METRICS_PORT, env.HOST);
    return http;
  }

  async function stop(): Promise<void> {
    // close() waits for jobs in progress, so a Ctrl-C never cuts an action in half.
    await worker?.closeAll();
    await remediations?.close();
    await slack?.close();
    await http?.close();
    if (connection) await closeRedis(connection);
  }

  return { start, stop, registry };
}
