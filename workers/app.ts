import express from 'express';
import type { Redis } from 'ioredis';
import { listen, type RunningServer } from '../lib/http';
import type { Logger } from '../lib/logger';
import { createMcpClient, type McpClient } from '../lib/mcp-client';
import { createMetricsRegistry, metricsHandler, type Registry } from '../lib/metrics';
import { loadOpsConfig, type OpsConfig } from '../lib/ops-config';
import { closeRedis, createRedis } from '../lib/redis';
import { createChecklistStore } from '../lib/routine-checklist';
import { createChannelDirectory } from '../lib/slack-channel-directory';
import { WORKER_SCOPES } from '../lib/worker-key';
import { createSlackOutboxProducer, type SlackOutboxProducer } from '../lib/slack-outbox';
import { createSilenceClient } from '../lib/alertmanager-silences';
import { createAuditLog } from '../lib/audit-log';
import { runbookJobOptions } from '../lib/contracts';
import type { WorkersEnv } from './config';
import { createPlatformDriver, SERVICE_ACCOUNT_DIR, type PlatformDriver } from './drivers';
import { createWorkerMetrics } from './metrics';
import { createIncidentAlerts } from './routine/incident-alerts';
import { createPrometheusClient } from './routine/prometheus';
import { createRoutineWorker, type RoutineWorker } from './routine/routine-worker';
import { createRunbookWorker } from './runbook-worker';
import { createRemediationWorker } from './remediation-worker';

export interface WorkersDeps {
  logger: Logger;
  registry?: Registry;
  /** Override the MCP client (by default it signs its own ops-only token with WORKERS_JWT_PRIVATE_KEY). */
  mcp?: McpClient;
  /** The ops config; read from OPS_CONFIG (or the built-in default) when not given. */
  opsConfig?: OpsConfig;
  /** Override the platform driver (built from the ops config's `platform` section by default). */
  driver?: PlatformDriver;
  /** The routine's clock (drills and tests move it to "the next morning"). @defaultValue the system clock */
  now?: () => Date;
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
  const inCluster = env.KUBERNETES_SERVICE_HOST
    ? { host: env.KUBERNETES_SERVICE_HOST, port: env.KUBERNETES_SERVICE_PORT ?? '443', tokenPath: `${SERVICE_ACCOUNT_DIR}/token`, caPath: `${SERVICE_ACCOUNT_DIR}/ca.crt` }
    : undefined;

  let connection: Redis | undefined;
  // Lifecycle actions (restart, deploy, rollback, scale) go through it; built at start, on the workers' Redis.
  let driver: PlatformDriver | undefined = deps.driver;
  let routine: RoutineWorker | undefined;
  // Replies reach Slack through the bot's outbox, never from here.
  let slack: SlackOutboxProducer | undefined;
  let worker: ReturnType<typeof createRunbookWorker> | undefined;
  let remediations: ReturnType<typeof createRemediationWorker> | undefined;
  let http: RunningServer | undefined;

  async function start(): Promise<RunningServer> {
    connection = createRedis(env.REDIS_URL);
    driver ??= createPlatformDriver(opsConfig.platform, { redis: connection, prefix: env.REDIS_PREFIX, logger: deps.logger, kubernetes: { inCluster } });
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
      driver,
      ...(env.ALERTMANAGER_URL ? { silences: createSilenceClient(env.ALERTMANAGER_URL) } : {}),
      ...(env.PROMETHEUS_URL ? { prometheusUrl: env.PROMETHEUS_URL } : {}),
      announceChannel: opsConfig.channels.P3,
      jobOptions: runbookJobOptions(env),
    });
    if (env.ROUTINE === 'on') {
      routine = createRoutineWorker({
        connection,
        prefix: env.REDIS_PREFIX,
        metrics,
        ctx: {
          config: opsConfig,
          redis: connection,
          prefix: env.REDIS_PREFIX,
          mcp,
          slack,
          channels: createChannelDirectory(connection, env.REDIS_PREFIX),
          checklists: createChecklistStore(connection, env.REDIS_PREFIX),
          prometheus: env.PROMETHEUS_URL ? createPrometheusClient(env.PROMETHEUS_URL) : undefined,
          silences: env.ALERTMANAGER_URL ? createSilenceClient(env.ALERTMANAGER_URL) : undefined,
          incidents: createIncidentAlerts({ webhookUrl: env.BOT_WEBHOOK_URL, token: env.ALERTMANAGER_WEBHOOK_TOKEN }),
          logger: deps.logger,
          now: deps.now ?? (() => new Date()),
        },
      });
      await routine.start();
    }
    const web = express();
    web.disable('x-powered-by');
    web.get('/metrics', metricsHandler(registry));
    web.get('/health', async (_req, res) => {
      const running = (worker?.isRunning() ?? false) && (env.ROUTINE === 'off' || (routine?.isRunning() ?? false));
      res.status(running ? 200 : 503).json({ status: running ? 'ok' : 'stopped' });
    });
    http = await listen(web, env.WORKERS_METRICS_PORT, env.HOST);
    return http;
  }

  async function stop(): Promise<void> {
    // close() waits for jobs in progress, so a Ctrl-C never cuts an action in half.
    await worker?.closeAll();
    await remediations?.close();
    await routine?.close();
    await slack?.close();
    if (!deps.driver) await driver?.close();
    await http?.close();
    if (connection) await closeRedis(connection);
  }

  return { start, stop, registry, config: opsConfig, routine: () => routine, platformDriver: () => driver };
}
