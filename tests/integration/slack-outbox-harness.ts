import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { createIncidentNotifier } from '../../bot/incidents/incident-notifier';
import { createIncidentStore, type Priority } from '../../bot/incidents/incident-store';
import { createChannelResolver } from '../../bot/incidents/slack-channels';
import { createOutboxWebClient, createSlackOutbox, type SlackOutbox, type SlackOutboxConfigInput } from '../../bot/slack-outbox';
import { silentLogger } from '../../lib/logger';
import { closeRedis, createRedis, type Redis } from '../../lib/redis';
import { SLACK_OUTBOX_QUEUE } from '../../lib/slack-outbox';
import { createSandboxClient, createSlackSandbox, DEFAULT_CHANNELS, type SlackMessage, type SlackSandbox } from '../../sandbox/slack';
import { firingFor } from '../helpers/fixtures';
import { deletePrefix, testPrefix, TEST_REDIS_URL } from '../helpers/redis';

/**
 * Real parts for the outbox tests: Redis under a fresh prefix, a sandbox Slack
 * on port 0 with Slack's default rate limits, real WebClients, the real
 * incident store. Each test uses its own channel so that one test's pace never
 * delays another's. `replica()` builds another outbox on its own Redis
 * connection, as a second bot process would.
 */
export const TOKEN = 'xoxb-outbox-test';
export const CHANNELS = Array.from({ length: 12 }, (_, i) => ({ id: `C0OUTBOX${i + 1}`, name: `outbox-${i + 1}` }));

export async function createOutboxHarness(config: SlackOutboxConfigInput = {}) {
  const redis = createRedis(TEST_REDIS_URL);
  const prefix = testPrefix('outbox');
  const slack: SlackSandbox = createSlackSandbox({
    botToken: TOKEN,
    signingSecret: 'outbox-test-signing-secret-0123',
    requestUrl: 'http://127.0.0.1:9/slack/events',
    channels: [...DEFAULT_CHANNELS, ...CHANNELS],
  });
  const { url } = await slack.start(0);
  const apiUrl = `${url}/api/`;
  const sandbox = createSandboxClient(url);
  const store = createIncidentStore({ redis, prefix });
  const logger = silentLogger();
  const connections: Redis[] = [redis];
  const outboxes: SlackOutbox[] = [];

  /** An outbox as one bot replica has it: own connection, own registry. Unstarted. */
  function replica(overrides: SlackOutboxConfigInput = {}) {
    const connection = createRedis(TEST_REDIS_URL);
    connections.push(connection);
    const registry = new Registry();
    const client = createOutboxWebClient(TOKEN, apiUrl);
    const outbox = createSlackOutbox({ ...config, ...overrides }, { redis: connection, prefix, client, store, logger, registry });
    outboxes.push(outbox);
    const notifier = createIncidentNotifier({ store, resolveChannel: createChannelResolver(client), channelFor: () => 'ops-alerts', logger, outbox });
    return { outbox, notifier, registry, client };
  }

  let group = 0;
  /** Opens an incident in the store (nothing in Slack yet); routing sends it to `channel`. */
  async function openIncident(channel: string, priority: Priority = 'P3', fingerprints = ['fp-0']): Promise<string> {
    group += 1;
    const payload = firingFor(`OutboxTest${group}`);
    payload.alerts = fingerprints.map((fp) => ({ ...payload.alerts[0]!, fingerprint: fp }));
    const result = await store.ingest(payload, {
      priority,
      priorityRule: 'test',
      policy: 'default',
      route: channel,
      title: `OutboxTest${group}`,
      summary: 'outbox test',
      labels: payload.commonLabels,
      generatorURL: '',
      runbookUrl: '',
      externalURL: '',
    });
    return result.incidentId;
  }

  /** Adds firing alerts to an open incident, as a later Alertmanager notification would. */
  async function addAlerts(id: string, fingerprints: string[]): Promise<void> {
    const incident = await store.get(id);
    const payload = firingFor(incident!.title);
    payload.groupKey = incident!.groupKey;
    payload.alerts = fingerprints.map((fp) => ({ ...payload.alerts[0]!, fingerprint: fp }));
    await store.ingest(payload, { priority: incident!.priority, priorityRule: 'test', policy: 'default', route: incident!.route, title: incident!.title, summary: '', labels: {}, generatorURL: '', runbookUrl: '', externalURL: '' });
  }

  /** Top-level messages and thread replies of a channel, oldest first. */
  async function everything(channel: string): Promise<SlackMessage[]> {
    const top = (await sandbox.history(channel)).reverse();
    const out: SlackMessage[] = [];
    for (const m of top) {
      out.push(m);
      if (m.reply_count) out.push(...(await sandbox.replies(channel, m.ts)).filter((r) => r.ts !== m.ts));
    }
    return out.sort((a, b) => Number(a.ts) - Number(b.ts));
  }

  /** Smallest gap in seconds between consecutive posts (by Slack ts) in a channel. */
  /**
   * The mean gap (s) between consecutive posts: the span from the first to the last over the gaps. The outbox paces
   * a channel's posts when it picks them; one post's trip to Slack delayed on a loaded machine narrows the gap after
   * it and widens the one before, so the smallest single gap says little, while unpaced posts (a burst Slack allows
   * five of) make the mean far below the interval.
   */
  function meanGap(messages: SlackMessage[]): number {
    const ts = messages.map((m) => Number(m.ts)).sort((a, b) => a - b);
    return ts.length < 2 ? Number.POSITIVE_INFINITY : (ts[ts.length - 1]! - ts[0]!) / (ts.length - 1);
  }

  async function close(): Promise<void> {
    for (const o of outboxes) await o.close().catch(() => undefined);
    const queue = new Queue(SLACK_OUTBOX_QUEUE, { connection: redis, prefix });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await slack.stop();
    await deletePrefix(redis, prefix);
    for (const c of connections) await closeRedis(c);
  }

  return { redis, prefix, slack, sandbox, store, url, apiUrl, replica, openIncident, addAlerts, everything, meanGap, close };
}

export type OutboxHarness = Awaited<ReturnType<typeof createOutboxHarness>>;

export const counter = async (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values.filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l)).reduce((sum, v) => sum + v.value, 0);
};
