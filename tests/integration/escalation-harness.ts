import { LogLevel, WebClient } from '@slack/web-api';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { createEscalationEngine, type EscalationEngine, type EscalationEngineOptions } from '../../bot/escalation/engine';
import { createIncidentNotifier } from '../../bot/incident-notifier';
import { createIncidentStore, type IncidentState, type Priority } from '../../bot/incident-store';
import { createChannelResolver } from '../../bot/slack-channels';
import { QueueName, type EscalationJob } from '../../lib/contracts';
import { silentLogger } from '../../lib/logger';
import { loadOpsConfig, parseOpsConfig, type OpsConfig } from '../../lib/ops-config';
import { closeRedis } from '../../lib/redis';
import { createSandboxClient, createSlackSandbox, DEFAULT_CHANNELS, type SlackSandbox } from '../../sandbox/slack';
import { firingFor } from '../helpers/fixtures';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

/**
 * The real parts the escalation tests need: Redis, the incident store and
 * notifier from bot/, a sandbox Slack on an ephemeral port with a real
 * WebClient, and engines built on them. Each incident gets its own channel
 * so one test's messages (and Slack's per-channel rate limit) never mix with another's.
 */

const TOKEN = 'xoxb-escalation-test';
const CHANNELS = Array.from({ length: 24 }, (_, i) => ({ name: `esc-${i + 1}` }));

export interface HarnessOptions {
  timeScale?: number;
  /** YAML merged over the default ops config (whole top-level sections). */
  configYaml?: string;
}

export async function createEscalationHarness(options: HarnessOptions = {}) {
  const redis = testRedis();
  const prefix = testPrefix('esc');
  const config: OpsConfig = options.configYaml ? parseOpsConfig(options.configYaml, 'test') : loadOpsConfig();
  const timeScale = options.timeScale ?? 0.002;
  const slack: SlackSandbox = createSlackSandbox({
    botToken: TOKEN,
    signingSecret: 'escalation-test-signing-secret',
    requestUrl: 'http://127.0.0.1:9/slack/events',
    channels: [...DEFAULT_CHANNELS, ...CHANNELS],
  });
  const { url } = await slack.start(0);
  const sandbox = createSandboxClient(url);
  const client = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, logLevel: LogLevel.ERROR });
  const logger = silentLogger();
  const store = createIncidentStore({ redis, prefix });
  let nextChannel = 0;
  let channelForNext = 'esc-1';
  const notifier = createIncidentNotifier({ client, store, resolveChannel: createChannelResolver(client), channelFor: () => channelForNext, logger });
  const registry = new Registry();
  const engines: EscalationEngine[] = [];
  const queue = new Queue<EscalationJob>(QueueName.Escalations, { connection: redis, prefix });
  const channelOf = new Map<string, string>();

  function engine(overrides: Partial<EscalationEngineOptions> = {}): EscalationEngine {
    const e = createEscalationEngine({ connection: redis, prefix, config, timeScale, store, notifier, client, logger, registry, ...overrides });
    engines.push(e);
    return e;
  }

  /** Opens an incident through the real store, posts its root message, returns its id (the engine is not told). */
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

  /** Replies in the incident's thread (root excluded), oldest first. */
  async function thread(id: string): Promise<string[]> {
    const incident = await store.get(id);
    if (!incident?.rootTs) return [];
    const messages = await sandbox.replies(channelOf.get(id)!, incident.rootTs);
    return messages.filter((m) => m.ts !== incident.rootTs).map((m) => m.text);
  }

  const escalations = async (id: string) => (await thread(id)).filter((t) => t.startsWith('🔔'));
  const breaches = async (id: string) => (await thread(id)).filter((t) => t.startsWith('⏱️ SLA breached'));

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

  async function close(): Promise<void> {
    for (const e of engines) await e.stop().catch(() => undefined);
    await notifier.drain();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await slack.stop();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  }

  return { redis, prefix, config, timeScale, store, notifier, client, registry, queue, sandbox, engine, openIncident, thread, escalations, breaches, setState, queuedJobs, close };
}

export type EscalationHarness = Awaited<ReturnType<typeof createEscalationHarness>>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
