import express, { type Express } from 'express';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createAuditLog } from '../lib/audit-log';
import { createRemediation } from './actions/remediation';
import { createPostmortemExporter } from './postmortem/exporter';
import { createTimelineNotes } from './postmortem/timeline-notes';
import { QueueName, runbookJobOptions, type RemediationJob, type RoutineJob, type RunbookActionJob } from '../lib/contracts';
import { createChecklistStore } from '../lib/routine-checklist';
import { createChannelDirectory } from '../lib/slack-channel-directory';
import { publishChannelIds } from './routine/channel-ids';
import { registerChecklistButtons } from './routine/checklist-buttons';
import { reportVerbs } from './routine/report-verbs';
import { listen, type RunningServer } from '../lib/http';
import type { Logger } from '../lib/logger';
import { createMetricsRegistry, metricsHandler, type Registry } from '../lib/metrics';
import { createAlertIntake } from './alerts/alert-intake';
import { createIncidentOpener } from './alerts/incident-opener';
import { loadOpsConfig, type OpsConfig } from '../lib/ops-config';
import { ConfigError } from '../lib/errors';
import { loadRunbooks, runbookConfigProblems, RUNBOOKS_DIR } from '../lib/runbook';
import { createRunbookRouter } from './actions/runbook-routes';
import { createAlertmanagerWebhookRouter } from './alerts/alertmanager-webhook';
import { createSnoozeEndCheck } from './alerts/snooze-end-check';
import type { BotEnv } from './config';
import { createIncidentNotifier } from './incidents/incident-notifier';
import { createIncidentRetention } from './incidents/incident-retention';
import { createIncidentStore } from './incidents/incident-store';
import { createBotMetrics } from './metrics';
import { createRunbookActions, incidentRunbookButtons } from './actions/runbook-actions';
import { runbookButtonElements } from './actions/runbook-buttons';
import { createActionService } from './actions/action-service';
import { createActionRequestStore } from './actions/action-requests';
import { createDiagnostics } from './actions/diagnostics';
import { createAccessControl } from './access/access-control';
import { auditVerb } from './audit/audit-verb';
import type { Incident } from './incidents/incident-store';
import { createSilenceClient } from '../lib/alertmanager-silences';
import { createIncidentService } from './incidents/incident-service';
import { createEscalationEngine } from './escalation/engine';
import { oncallVerbs } from './commands/oncall-verbs';
import { registerIncidentButtons } from './incidents/incident-buttons';
import { createOpsCommandRouter } from './commands/router';
import { incidentVerbs } from './commands/incident-verbs';
import type { OpsVerb } from './commands/types';
import { createChannelResolver } from './incidents/slack-channels';
import { createSlackRequestGuard } from './slack-request-guard';
import { ALERTMANAGER_HEARTBEAT, createHeartbeatMonitor } from './heartbeats/heartbeat-monitor';
import { createHeartbeatRouter } from './heartbeats/heartbeat-routes';
import { createCalendarRouter } from './calendars/calendar-routes';
import { createHandoffAnnouncer } from './oncall/handoffs';
import { createOverrideStore } from './oncall/oncall-overrides';
import { createUserResolver } from './escalation/targets';
import { createExternalCalendarSync } from './calendars/external-calendar';
import { createOutboxWebClient, createSlackOutbox, type SlackOutboxConfigInput } from './slack-outbox';
import { createStoppableSlackClient } from './slack-web-client';

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
  /** The clock of confirmations and approvals (their 10-minute windows). @defaultValue the system clock */
  now?: () => Date;
  /** Snooze lengths people may pick. @defaultValue 30m, 1h, 4h (the buttons' choices) */
  snoozeChoices?: string[];
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
  // Before Bolt's receiver: it reads the body this guard has read.
  // The Alertmanager webhook is the busiest route: first in the stack, ahead of the Slack guard and Bolt's router
  // (filled in below, once the intake exists).
  const alertRoutes = express.Router();
  web.use(alertRoutes);
  if (!socketMode) web.use('/slack/events', createSlackRequestGuard({ signingSecret: env.SLACK_SIGNING_SECRET, logger, replays: { redis, prefix: env.REDIS_PREFIX } }));
  const receiver = socketMode
    ? undefined
    : new ExpressReceiver({ signingSecret: env.SLACK_SIGNING_SECRET, endpoints: '/slack/events', app: web });
  // Bolt's client (and the per-request ones it makes from the same options): stop() ends their retries.
  const slackClient = createStoppableSlackClient(env.SLACK_API_URL);
  const app = new App({
    token: env.SLACK_BOT_TOKEN,
    tokenVerificationEnabled: false,
    logLevel: LogLevel.WARN,
    clientOptions: slackClient.options,
    ...(socketMode ? { socketMode: true, appToken: env.SLACK_APP_TOKEN, signingSecret: env.SLACK_SIGNING_SECRET } : { receiver }),
  });

  const store = createIncidentStore({ redis, prefix: env.REDIS_PREFIX, ...(env.OPENING_LEASE_MS ? { openingLeaseMs: env.OPENING_LEASE_MS } : {}) });
  const metrics = createBotMetrics(registry, () => store.openSummary());
  const channelDirectory = createChannelDirectory(redis, env.REDIS_PREFIX);
  const resolveChannel = createChannelResolver(app.client, channelDirectory);
  const fallbackName = config.channels.fallback;
  // Every Slack write goes through the outbox (limits, order, coalescing, storm digests).
  const outbox = createSlackOutbox(
    { stormThresholdPerMinute: config.storm.threshold_per_minute, ...deps.slackOutbox },
    {
      redis,
      prefix: env.REDIS_PREFIX,
      client: createOutboxWebClient(env.SLACK_BOT_TOKEN, env.SLACK_API_URL),
      store,
      logger,
      registry,
      incidentButtons: (incident) => runbookButtonElements(incident, incidentRunbookButtons(incident, runbooks, config).slice(1)),
      fallbackChannel: fallbackName ? () => resolveChannel(fallbackName) : undefined,
    },
  );
  const channelOf = async (incident: Incident) => incident.channel ?? resolveChannel(incident.route || config.channels[incident.priority]);
  const notifier = createIncidentNotifier({
    outbox,
    store,
    resolveChannel,
    channelFor: (p) => config.channels[p],
    logger,
  });
  const access = createAccessControl({ config, client: app.client, resolveChannel, logger });
  const audit = createAuditLog({ redis, prefix: env.REDIS_PREFIX, ...(deps.now ? { now: deps.now } : {}) });
  // Runbook actions and automatic remediations ride out an outage within the same configured bound, and are kept alike.
  const jobOptions = runbookJobOptions(env);
  const queue = new Queue<RunbookActionJob>(QueueName.RunbookActions, { connection: redis, prefix: env.REDIS_PREFIX, defaultJobOptions: jobOptions });
  const actionService = createActionService({
    access,
    requests: createActionRequestStore({ redis, prefix: env.REDIS_PREFIX }),
    store,
    queue,
    audit,
    channelOf,
    metrics,
    logger,
    now: deps.now,
    poster: {
      async post({ incidentId, channel, threadTs, text, blocks, id }) {
        await outbox.reply({ ...(incidentId ? { lane: incidentId } : {}), channel, ...(threadTs ? { threadTs } : {}), text, ...(blocks ? { blocks } : {}), id });
      },
    },
  });
  const diagnostics = createDiagnostics({ runbooks, service: actionService, channelOf, logger });
  const silences = env.ALERTMANAGER_URL ? createSilenceClient(env.ALERTMANAGER_URL) : undefined;
  // Bound once the intake exists (it needs the engine's hooks; the engine asks it at a snooze's end).
  let checkSnoozeEnd: ((id: string) => Promise<'resolved' | 'firing' | 'unknown'>) | undefined;
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
          checkSnoozeEnd: silences && ((id) => checkSnoozeEnd!(id)),
        });
  const remediationQueue = new Queue<RemediationJob>(QueueName.Remediations, { connection: redis, prefix: env.REDIS_PREFIX, defaultJobOptions: jobOptions });
  const remediation = createRemediation({
    config,
    runbooks,
    store,
    redis,
    prefix: env.REDIS_PREFIX,
    remediations: remediationQueue,
    actions: queue,
    resolveChannel,
    audit,
    logger,
  });
  remediation.register(app);
  // A new incident's opening runs after the webhook has answered (the ingest records it as owed; see the opener).
  const opener = createIncidentOpener({
    redis,
    store,
    notifier,
    logger,
    metrics,
    registry,
    open: async (id, opening) => {
      // Escalation and the runbook side are independent: planned at once.
      // Diagnostics before remediation (their results are the first replies); a diagnostics failure is logged, and
      // does not hold back the rest. All of them take the incident the opener read instead of reading it again.
      const [planned, runbook] = await Promise.allSettled([
        escalation?.opened(id, opening.incident),
        diagnostics
          .opened(id, opening)
          .catch((err) => logger.error({ err, incidentId: id }, 'could not enqueue the diagnostics'))
          .then(() => remediation.opened(id, opening.incident)),
      ]);
      if (planned.status === 'rejected') throw planned.reason;
      if (runbook.status === 'rejected') throw runbook.reason;
    },
  });
  const intake = createAlertIntake({
    store,
    notifier,
    config,
    logger,
    metrics,
    runbookPriority: (alertname) => runbooks.get(alertname)?.priority,
    grafanaUrl: env.GRAFANA_URL,
    opener,
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
  const actions = createRunbookActions({ service: actionService, store, runbooks, audit, config, logger });
  actions.register(app);
  if (silences) checkSnoozeEnd = createSnoozeEndCheck({ store, intake, alertmanager: silences, logger });
  const incidents = createIncidentService({ store, notifier, config, metrics, logger, silences, escalation, snoozeChoices: deps.snoozeChoices });
  registerIncidentButtons(app, {
    service: incidents,
    store,
    config,
    logger,
    access,
    onRefused: async ({ userId, incidentId, command, message }) => {
      await audit.append({ kind: 'refusal', actor: userId, incidentId, outcome: 'refused', message: message.slice(0, 4000), detail: { command, via: 'button' } });
    },
  });
  // The routine runs in the workers; the bot queues `/ops report` runs and takes checklist ticks.
  const routineQueue = new Queue<RoutineJob>(QueueName.Routine, { connection: redis, prefix: env.REDIS_PREFIX });
  registerChecklistButtons(app, { checklists: createChecklistStore(redis, env.REDIS_PREFIX), outbox, config, logger });
  let workspaceUrl: string | undefined;
  const slackUrl = async () => {
    if (!workspaceUrl) workspaceUrl = ((await app.client.auth.test()).url as string | undefined) ?? 'https://slack.com';
    return workspaceUrl;
  };
  const postmortems = createPostmortemExporter({ store, audit, config, outbox, apiToken: env.BOT_API_TOKEN, logger });
  postmortems.register(app);
  const notes = createTimelineNotes({ store, notifier, client: app.client, redis, prefix: env.REDIS_PREFIX, logger });
  notes.register(app);
  const commands = createOpsCommandRouter({
    verbs: [
      ...incidentVerbs({ service: incidents, store, slackUrl }),
      actions.runVerb,
      ...oncallVerbs,
      notes.noteVerb,
      postmortems.verb,
      ...reportVerbs({ queue: routineQueue, reportChannel: config.routine.report_channel ?? config.channels.reports }),
      auditVerb({ audit, store, upload: (input) => outbox.upload(input), channelOf }),
      ...(deps.extraVerbs ?? []),
    ],
    config,
    redis,
    prefix: env.REDIS_PREFIX,
    logger,
    access,
    onRefused: async ({ userId, channelId, command, message }) => {
      await audit.append({ kind: 'refusal', actor: userId, outcome: 'refused', message: message.slice(0, 4000), detail: { command, channel: channelId } });
    },
  });
  commands.register(app);

  app.error(async (err) => {
    logger.error({ err }, 'bolt listener error');
  });

  alertRoutes.use(createAlertmanagerWebhookRouter({ token: env.ALERTMANAGER_WEBHOOK_TOKEN, intake, logger, metrics, storeReady: () => redis.status === 'ready' }));
  web.use(createRunbookRouter(runbooks, RUNBOOKS_DIR));
  web.use(postmortems.router());
  web.use(createHeartbeatRouter({ config: config.heartbeats, monitor: heartbeats, logger }));
  web.use(createCalendarRouter({ config, redis, prefix: env.REDIS_PREFIX, logger }));
  web.get('/health', async (_req, res) => {
    // Not ready while Redis reconnects: a PING would wait in ioredis' offline queue, so this answers at once.
    const redisOk = redis.status === 'ready' && (await pingWithin(redis, 1000));
    res.status(redisOk ? 200 : 503).json({ status: redisOk ? 'ok' : 'degraded', redis: redisOk, mode: socketMode ? 'socket' : 'http' });
  });
  web.get('/metrics', metricsHandler(registry));
  // Last: whatever a route let through is answered in JSON, never Express's HTML page with a stack trace.
  web.use((err: Error & { status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) logger.error({ err }, 'bot request failed');
    if (res.headersSent) return;
    res.status(status).json({ ok: false, error: status === 500 ? 'internal_error' : 'bad_request' });
  });

  const retention = createIncidentRetention({ redis, prefix: env.REDIS_PREFIX, config: config.retention, logger, registry });

  let http: RunningServer | undefined;

  async function start(): Promise<RunningServer> {
    http = await listen(web, env.BOT_PORT, env.HOST);
    if (socketMode) await app.start();
    await outbox.start();
    // Bounded: the WebClient retries for a long time when Slack is unreachable; start does not wait for that.
    const published = publishChannelIds(config, resolveChannel, channelDirectory, logger);
    await Promise.race([published, new Promise((r) => setTimeout(r, 5000).unref())]);
    await escalation?.start();
    retention.start();
    await heartbeats.start();
    handoffs.start();
    calendars.start();
    const pending = await intake.reconcile();
    if (pending) logger.info({ pending }, 'reposting incidents whose root message never reached Slack');
    await opener.start();
    return http;
  }

  async function stop(): Promise<void> {
    if (socketMode) await app.stop().catch(() => undefined);
    await http?.close();
    // Before the parts below wait on their work: a Slack call still retrying (channel ids at start, a user
    // group lookup) would hold them for minutes. Openings it breaks are retried by the next replica or start.
    slackClient.stop();
    await retention.stop();
    await heartbeats.stop();
    await handoffs.stop();
    calendars.stop();
    await opener.stop();
    await escalation?.stop();
    await notifier.drain();
    await outbox.close();
    await queue.close();
    await remediationQueue.close();
    await routineQueue.close();
  }

  return { app, web, config, store, incidents, commands, escalation, intake, opener, heartbeats, calendars, notifier, outbox, actions, actionService, postmortems, notes, audit, queue, access, retention, registry, start, stop };
}


export type BotApp = ReturnType<typeof createBotApp>;

/** PING answered within `ms` (a Redis that accepts connections but hangs is not ready either). */
async function pingWithin(redis: Redis, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const ok = await Promise.race([redis.ping().then(() => true, () => false), late]);
  clearTimeout(timer);
  return ok;
}
