import express, { type Express } from 'express';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueName, type RunbookActionJob } from '../lib/contracts';
import { listen, type RunningServer } from '../lib/http';
import type { Logger } from '../lib/logger';
import { createMetricsRegistry, metricsHandler, type Registry } from '../lib/metrics';
import { createAlertIntake } from './alerts/alert-intake';
import { loadOpsConfig, type OpsConfig } from '../lib/ops-config';
import { ConfigError } from '../lib/errors';
import { loadRunbooks, runbookConfigProblems, RUNBOOKS_DIR } from '../lib/runbook';
import { createRunbookRouter } from './actions/runbook-routes';
import { createAlertmanagerWebhookRouter } from './alerts/alertmanager-webhook';
import type { BotEnv } from './config';
import { createIncidentNotifier } from './incidents/incident-notifier';
import { createIncidentStore } from './incidents/incident-store';
import { createBotMetrics } from './metrics';
import { createRunbookActions } from './actions/runbook-actions';
import { createSilenceClient } from '../lib/alertmanager-silences';
import { createIncidentService } from './incidents/incident-service';
import { createEscalationEngine } from './escalation/engine';
import { oncallVerbs } from './commands/oncall-verbs';
import { registerIncidentButtons } from './incidents/incident-buttons';
import { createOpsCommandRouter } from './commands/router';
import { incidentVerbs } from './commands/incident-verbs';
import type { OpsVerb } from './commands/types';
import { createChannelResolver } from './incidents/slack-channels';
import { ALERTMANAGER_HEARTBEAT, createHeartbeatMonitor } from './heartbeats/heartbeat-monitor';
import { createHeartbeatRouter } from './heartbeats/heartbeat-routes';
import { createCalendarRouter } from './calendars/calendar-routes';
import { createHandoffAnnouncer } from './oncall/handoffs';
import { createOverrideStore } from './oncall/oncall-overrides';
import { createUserResolver } from './escalation/targets';
import { createExternalCalendarSync } from './calendars/external-calendar';
import { createOutboxWebClient, createSlackOutbox, type SlackOutboxConfigInput } from './slack-outbox';

export interface BotDeps {
  redis: Redis;
  logger: Logger;
  registry?: Registry;
  /** The ops config; read from OPS_CONFIG (or the built-in default) when not given. */
  opsConfig?: OpsConfig;
  /** Escalation: on by default; `false` turns it off (tests of other parts). */
  escalation?: false;
  /** More `/ops` verbs (e.g. on-call). */
  extraVerbs?: OpsVerb[];
  /** Slack outbox limits over the defaults (Slack's published ones); the storm threshold comes from the ops config. */
  slackOutbox?: SlackOutboxConfigInput;
}

/**
 * Builds the bot, unstarted. HTTP mode: Bolt's ExpressReceiver serves
 * `/slack/events` next to our routes on one port. Socket Mode (SLACK_APP_TOKEN):
 * Bolt talks to Slack over a socket and our routes get a plain Express app.
 */
export function createBotApp(env: BotEnv, deps: BotDeps) {
  const { redis, logger } = deps;
  const registry = deps.registry ?? createMetricsRegistry({ service: 'bot' });
  const socketMode = Boolean(env.SLACK_APP_TOKEN);
  const config = deps.opsConfig ?? loadOpsConfig(env.OPS_CONFIG);
  const runbooks = loadRunbooks(RUNBOOKS_DIR);
  const runbookProblems = runbookConfigProblems(runbooks, config);
  if (runbookProblems.length) throw new ConfigError(`runbooks disagree with the ops config: ${runbookProblems.join('; ')}`, runbookProblems);

  const web: Express = express();
  web.disable('x-powered-by');
  const receiver = socketMode
    ? undefined
    : new ExpressReceiver({ signingSecret: env.SLACK_SIGNING_SECRET, endpoints: '/slack/events', app: web });
  const app = new App({
    token: env.SLACK_BOT_TOKEN,
    tokenVerificationEnabled: false,
    logLevel: LogLevel.WARN,
    clientOptions: env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : undefined,
    ...(socketMode ? { socketMode: true, appToken: env.SLACK_APP_TOKEN, signingSecret: env.SLACK_SIGNING_SECRET } : { receiver }),
  });

  const store = createIncidentStore({ redis, prefix: env.REDIS_PREFIX });
  const metrics = createBotMetrics(registry, () => store.openSummary());
  // Every Slack write goes through the outbox (limits, order, coalescing, storm digests).
  const outbox = createSlackOutbox(
    { stormThresholdPerMinute: config.storm.threshold_per_minute, ...deps.slackOutbox },
    { redis, prefix: env.REDIS_PREFIX, client: createOutboxWebClient(env.SLACK_BOT_TOKEN, env.SLACK_API_URL), store, logger, registry },
  );
  const resolveChannel = createChannelResolver(app.client);
  const notifier = createIncidentNotifier({
    outbox,
    store,
    resolveChannel,
    channelFor: (p) => config.channels[p],
    logger,
  });
  const escalation =
    deps.escalation === false
      ? undefined
      : createEscalationEngine({
          connection: redis,
          prefix: env.REDIS_PREFIX,
          config,
          timeScale: env.ESCALATION_TIME_SCALE,
          store,
          notifier,
          client: app.client,
          logger,
          registry,
        });
  const intake = createAlertIntake({
    store,
    notifier,
    config,
    logger,
    metrics,
    runbookPriority: (alertname) => runbooks.get(alertname)?.priority,
    grafanaUrl: env.GRAFANA_URL,
    onOpened: escalation && ((id) => escalation.opened(id)),
    onResolved: escalation && ((id) => escalation.resolved(id)),
    watchdogAlertname: config.heartbeats.watchdog.alertname,
    onWatchdog: () => heartbeats.beat(ALERTMANAGER_HEARTBEAT),
  });
  // Heartbeat incidents open and resolve through the intake, like any alert.
  const heartbeats = createHeartbeatMonitor({
    redis,
    prefix: env.REDIS_PREFIX,
    config: config.heartbeats,
    timeScale: env.ESCALATION_TIME_SCALE,
    deliver: (payload) => intake.receive(payload),
    logger,
  });
  const resolveUser = createUserResolver(config, app.client, logger);
  const overrideStore = createOverrideStore({ redis, prefix: env.REDIS_PREFIX });
  const handoffs = createHandoffAnnouncer({
    config,
    overrides: (at) => overrideStore.live(at),
    post: async (m) => outbox.reply({ id: m.id, channel: await resolveChannel(m.channel), text: m.text }),
    mention: async (name) => {
      const id = await resolveUser(name);
      return id ? `<@${id}>` : `@${name}`;
    },
    logger,
  });
  const calendars = createExternalCalendarSync({ config, store: overrideStore, logger });
  const queue = new Queue<RunbookActionJob>(QueueName.RunbookActions, {
    connection: redis,
    prefix: env.REDIS_PREFIX,
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  });
  const actions = createRunbookActions({ store, notifier, queue, logger, metrics, config });
  actions.register(app);
  const silences = env.ALERTMANAGER_URL ? createSilenceClient(env.ALERTMANAGER_URL) : undefined;
  const incidents = createIncidentService({ store, notifier, config, metrics, logger, silences, escalation });
  registerIncidentButtons(app, { service: incidents, config, logger });
  let workspaceUrl: string | undefined;
  const slackUrl = async () => {
    if (!workspaceUrl) workspaceUrl = ((await app.client.auth.test()).url as string | undefined) ?? 'https://slack.com';
    return workspaceUrl;
  };
  const commands = createOpsCommandRouter({
    verbs: [...incidentVerbs({ service: incidents, store, slackUrl }), actions.runVerb, ...oncallVerbs, ...(deps.extraVerbs ?? [])],
    config,
    redis,
    prefix: env.REDIS_PREFIX,
    logger,
  });
  commands.register(app);

  app.error(async (err) => {
    logger.error({ err }, 'bolt listener error');
  });

  web.use(createAlertmanagerWebhookRouter({ token: env.ALERTMANAGER_WEBHOOK_TOKEN, intake, logger, metrics }));
  web.use(createRunbookRouter(runbooks, RUNBOOKS_DIR));
  web.use(createHeartbeatRouter({ config: config.heartbeats, monitor: heartbeats, logger }));
  web.use(createCalendarRouter({ config, redis, prefix: env.REDIS_PREFIX, logger }));
  web.get('/health', async (_req, res) => {
    const redisOk = await redis.ping().then(() => true, () => false);
    res.status(redisOk ? 200 : 503).json({ status: redisOk ? 'ok' : 'degraded', redis: redisOk, mode: socketMode ? 'socket' : 'http' });
  });
  web.get('/metrics', metricsHandler(registry));

  let http: RunningServer | undefined;

  async function start(): Promise<RunningServer> {
    http = await listen(web, env.BOT_PORT, env.HOST);
    if (socketMode) await app.start();
    await outbox.start();
    await escalation?.start();
    await heartbeats.start();
    handoffs.start();
    calendars.start();
    const pending = await intake.reconcile();
    if (pending) logger.info({ pending }, 'reposting incidents whose root message never reached Slack');
    return http;
  }

  async function stop(): Promise<void> {
    if (socketMode) await app.stop().catch(() => undefined);
    await http?.close();
    await heartbeats.stop();
    await handoffs.stop();
    calendars.stop();
    await escalation?.stop();
    await notifier.drain();
    await outbox.close();
    await queue.close();
  }

  return { app, web, config, store, incidents, commands, escalation, intake, heartbeats, calendars, notifier, outbox, actions, registry, start, stop };
}


export type BotApp = ReturnType<typeof createBotApp>;
