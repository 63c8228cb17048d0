import { LogLevel, WebClient } from '@slack/web-api';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { createEscalationEngine, type EscalationEngine, type EscalationEngineOptions } from '../../bot/escalation/engine';
import { createIncidentNotifier } from '../../bot/incidents/incident-notifier';
import { createIncidentStore, type IncidentState, type IncidentStore, type Priority } from '../../bot/incidents/incident-store';
import { createChannelResolver } from '../../bot/incidents/slack-channels';
import { createOutboxWebClient, createSlackOutbox, type SlackOutboxConfigInput } from '../../bot/slack-outbox';
import { QueueName, type EscalationJob } from '../../lib/contracts';
import { silentLogger } from '../../lib/logger';
import { loadOpsConfig, parseOpsConfig, type OpsConfig } from '../../lib/ops-config';
import { closeRedis, createRedis } from '../../lib/redis';
import { SLACK_OUTBOX_QUEUE } from '../../lib/slack-outbox';
import { createSandboxClient, createSlackSandbox, DEFAULT_CHANNELS, type SlackSandbox } from '../../sandbox/slack';
import { firingFor } from '../helpers/fixtures';
import { deletePrefix, testPrefix, TEST_REDIS_URL } from '../helpers/redis';

/**
 * The real parts the escalation tests need, wired as bot/app.ts wires them:
 * Redis, the incident store, the Slack outbox (started) and the notifier on
 * it, a sandbox Slack on an ephemeral port, and engines built on them. Each
 * incident gets its own channel so one test's messages (and the outbox's
 * per-channel pace) never mix with another's.
 */

const TOKEN = 'xoxb-escalation-test';

export type TimelineEntry = Awaited<ReturnType<IncidentStore['timeline']>>[number];
const CHANNELS = Array.from({ length: 24 }, (_, i) => ({ name: `esc-${i + 1}` }));

export interface HarnessOptions {
  timeScale?: number;
  /** YAML merged over the default ops config (whole top-level sections). */
  configYaml?: string;
  /** Redis to run on. @defaultValue the shared test Redis */
  redisUrl?: string;
  /** Outbox settings over Slack's defaults. */
  outbox?: SlackOutboxConfigInput;
  /** `false`: the sandbox Slack enforces no rate limits (with a fast outbox pace: many replies settle in a second). */
  slackRateLimits?: false;
}

export async function createEscalationHarness(options: HarnessOptions = {}) {
  // One connection for everything, as the bot has it (bot/main.ts).
  const redis = createRedis(options.redisUrl ?? TEST_REDIS_URL);
  // A Redis restart is part of some tests: ioredis reports the lost connection; it reconnects by itself.
  redis.on('error', () => undefined);
  const prefix = testPrefix('esc');
  const config: OpsConfig = options.configYaml ? parseOpsConfig(options.configYaml, 'test') : loadOpsConfig();
  const timeScale = options.timeScale ?? 0.002;
  const slack: SlackSandbox = createSlackSandbox({
    botToken: TOKEN,
    signingSecret: 'escalation-test-signing-secret',
    requestUrl: 'http://127.0.0.1:9/slack/events',
    channels: [...DEFAULT_CHANNELS, ...CHANNELS],
    ...(options.slackRateLimits === false ? { rateLimits: false as const } : {}),
  });
  const { url } = await slack.start(0);
  const sandbox = createSandboxClient(url);
  // Reads (channel and user lookups) through a plain client, as the bot's Bolt client does; writes through the outbox.
  const client = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, logLevel: LogLevel.ERROR });
  const logger = silentLogger();
  const store = createIncidentStore({ redis, prefix });
  const registry = new Registry();
  const outbox = createSlackOutbox(
    { stormThresholdPerMinute: config.storm.threshold_per_minute, ...options.outbox },
    { redis, prefix, client: createOutboxWebClient(TOKEN, `${url}/api/`), store, logger, registry },
  );
  await outbox.start();
  let nextChannel = 0;
  let channelForNext = 'esc-1';
  const notifier = createIncidentNotifier({ outbox, store, resolveChannel: createChannelResolver(client), channelFor: () => channelForNext, logger });
  const engines: EscalationEngine[] = [];
  const queue = new Queue<EscalationJob>(QueueName.Escalations, { connection: redis, prefix });
  // BullMQ prints a Queue's unheard 'error' events (a Redis restart) to the console.
  queue.on('error', () => undefined);
  const channelOf = new Map<string, string>();

  function engine(overrides: Partial<EscalationEngineOptions> = {}): EscalationEngine {
    const e = createEscalationEngine({ connection: redis, prefix, config, timeScale, store, notifier, client, logger, registry, ...overrides });
    engines.push(e);
    return e;
  }

  /** Opens an incident through the real store, queues its root message unless told not to, returns its id (the engine is not told). */
  async function openIncident(priority: Priority, policy = config.escalation.by_priority[priority], postRoot = true): Promise<string> {
    nextChannel += 1;
    const channel = `esc-${nextChannel}`;
    channelForNext = channel;
    const payload = firingFor(`EscalationTest${nextChannel}`);
    const result = await store.ingest(payload, {
      priority,
      priorityRule: 'test',
      policy,
      route: channel,
      title: payload.groupLabels.alertname ?? 'EscalationTest',
      summary: 'escalation test',
      labels: payload.commonLabels,
      generatorURL: '',
      runbookUrl: '',
      externalURL: '',
    });
    if (postRoot) await notifier.sync(result.incidentId);
    channelOf.set(result.incidentId, channel);
    return result.incidentId;
  }

  /** Replies in the incident's thread (root excluded), in Slack's order (oldest first). */
  async function thread(id: string): Promise<string[]> {
    const incident = await store.get(id);
    if (!incident?.rootTs) return [];
    const messages = await sandbox.replies(channelOf.get(id)!, incident.rootTs);
    return messages.filter((m) => m.ts !== incident.rootTs).map((m) => m.text);
  }

  const escalations = async (id: string) => (await thread(id)).filter((t) => t.startsWith('🔔'));
  const breaches = async (id: string) => (await thread(id)).filter((t) => t.startsWith('⏱️ SLA breached'));

  /**
   * Escalation steps on the timeline, in firing (claim) order. A step is on the
   * timeline as soon as its reply is queued in the outbox, before Slack shows it.
   */
  async function firedSteps(id: string): Promise<TimelineEntry[]> {
    return (await store.timeline(id))
      .filter((e) => e.type === 'escalation_step')
      .sort((a, b) => a.firedAt!.localeCompare(b.firedAt!));
  }

  /** A person's state change, through the store's own transition (as the incident service does it). */
  async function setState(id: string, to: IncidentState, fields: Record<string, string> = {}): Promise<void> {
    const from: IncidentState[] = ['triggered', 'acknowledged', 'snoozed'];
    const res = await store.transition(id, { from, to, fields, event: { type: to, by: 'U0BOB' } });
    if (!res.ok) throw new Error(`transition of ${id} to ${to} refused: ${res.reason}`);
  }

  /** Jobs of an incident still waiting in the queue. */
  async function queuedJobs(id: string) {
    const jobs = await queue.getJobs(['delayed', 'waiting', 'prioritized', 'active']);
    return jobs.filter((j) => j?.data.incidentId === id);
  }

  /** Waits until every queued Slack write reached the sandbox (the outbox is empty). */
  async function settle(timeoutMs = 20_000): Promise<void> {
    if (!(await outbox.idle(timeoutMs))) throw new Error(`the Slack outbox still has writes queued after ${timeoutMs} ms`);
  }

  /** 429s the sandbox answered, by method (the outbox keeps within Slack's limits, so none are expected). */
  async function ratelimited(): Promise<Record<string, number>> {
    const stats = await sandbox.stats();
    return Object.fromEntries(Object.entries(stats.ratelimited).map(([method, c]) => [method, c.total]));
  }

  async function close(): Promise<void> {
    for (const e of engines) await e.stop().catch(() => undefined);
    await notifier.drain().catch(() => undefined);
    await outbox.close().catch(() => undefined);
    const outboxQueue = new Queue(SLACK_OUTBOX_QUEUE, { connection: redis, prefix });
    for (const q of [queue, outboxQueue]) {
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    await slack.stop();
    await deletePrefix(redis, prefix).catch(() => undefined);
    await closeRedis(redis);
  }

  return {
    redis,
    prefix,
    config,
    timeScale,
    store,
    notifier,
    outbox,
    client,
    registry,
    queue,
    sandbox,
    engine,
    openIncident,
    thread,
    escalations,
    breaches,
    firedSteps,
    setState,
    queuedJobs,
    settle,
    ratelimited,
    close,
  };
}

export type EscalationHarness = Awaited<ReturnType<typeof createEscalationHarness>>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
