import crypto from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import type { Registry } from '../../lib/metrics';
import { clipMessage } from '../../lib/slack-text';
import { createSlackOutboxProducer, priorityRank, type OutboxMessage, type OutboxPriority } from '../../lib/slack-outbox';
import type { Incident, IncidentStore } from '../incidents/incident-store';
import type { Element } from '../incidents/incident-message';
import { SlackOutboxConfigSchema, type SlackOutboxConfig, type SlackOutboxConfigInput } from './config';
import { createOutboxConsumer } from './consumer';
import { createOutboxMetrics } from './metrics';
import { DEPTH_LUA, SYNC_INCIDENT_LUA } from './scripts';
import { redisScript } from '../../lib/redis-script';

const DEPTH_LUA_SCRIPT = redisScript(DEPTH_LUA);
const SYNC_INCIDENT_LUA_SCRIPT = redisScript(SYNC_INCIDENT_LUA);
import { createOutboxSender } from './sender';

export { SlackOutboxConfigSchema, type SlackOutboxConfig, type SlackOutboxConfigInput } from './config';
export { createOutboxWebClient } from './slack-client';

export interface SlackOutboxDeps {
  /** Shared connection (`maxRetriesPerRequest: null`); BullMQ duplicates it for blocking reads. */
  redis: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  /** A client from `createOutboxWebClient` (429s come back at once, no retries inside). */
  client: WebClient;
  store: IncidentStore;
  logger: Logger;
  registry: Registry;
  /** Extra buttons for an incident's root message (its runbook's actions). */
  incidentButtons?: (incident: Incident) => Element[];
  /** The fallback channel's id (ops config `channels.fallback`), for incidents whose own channel Slack refuses. */
  fallbackChannel?: () => Promise<string | undefined>;
}

export interface IncidentSyncRequest {
  incidentId: string;
  /** Channel id the incident's root goes to (ignored once the incident has a lane). */
  channel: string;
  priority: OutboxPriority;
  /** The root message ts when the store already knows it. */
  rootTs?: string;
  /** The incident's state changed: edit its root message (or its digest line). */
  dirty: boolean;
  /** A reply for the incident's thread, after its root message. */
  /** `id`: a stable id makes it idempotent (a repeat with the same id is skipped); default a random UUID. */
  reply?: { text: string; blocks?: Array<Record<string, unknown>>; id?: string };
}

/**
 * The bot's Slack outbox: incident-aware producers (root, edits, replies,
 * storm digests) plus the consumer that is the only caller of Slack's write
 * methods. Unstarted until `start()`; workers enqueue through lib/slack-outbox.ts.
 */
export function createSlackOutbox(configInput: SlackOutboxConfigInput, deps: SlackOutboxDeps) {
  const config: SlackOutboxConfig = SlackOutboxConfigSchema.parse(configInput);
  const { redis, prefix, logger } = deps;
  const producer = createSlackOutboxProducer({ connection: redis, prefix, logger });
  const keys = producer.keys;

  async function depthAndLanes(): Promise<[number, number]> {
    const [total, lanes] = (await DEPTH_LUA_SCRIPT.run(redis, 0, keys.base)) as [number, number];
    return [Number(total), Number(lanes)];
  }

  const metrics = createOutboxMetrics(deps.registry, async () => (await depthAndLanes())[0]);
  const sender = createOutboxSender({ client: deps.client, store: deps.store, incidentButtons: deps.incidentButtons, redis, keys, config, metrics, logger, fallbackChannel: deps.fallbackChannel });
  const consumer = createOutboxConsumer({ connection: redis, prefix, config, producer, sender, logger, metrics });

  /**
   * Queues an incident's Slack work. The first request decides how it shows:
   * its own root message, or a line in the channel's storm digest. Returns
   * that mode and the reply's outbox id.
   */
  async function syncIncident(req: IncidentSyncRequest): Promise<{ mode: 'root' | 'digest'; messageId?: string }> {
    const message: OutboxMessage | undefined = req.reply
      ? {
          id: req.reply.id ?? crypto.randomUUID(),
          text: clipMessage(req.reply.text),
          ...(req.reply.blocks ? { blocks: req.reply.blocks } : {}),
          incidentId: req.incidentId,
          enqueuedAt: Date.now(),
        }
      : undefined;
    const [channel, generation, mode, rank] = (await SYNC_INCIDENT_LUA_SCRIPT.run(
      redis,
      0,
      keys.base,
      req.incidentId,
      req.channel,
      priorityRank(req.priority),
      req.rootTs ?? '',
      req.dirty ? '1' : '0',
      message ? JSON.stringify(message) : '',
      config.stormThresholdPerMinute,
      config.digestSize,
      config.digestWindowMs,
      message?.id ?? '',
    )) as [string, string, 'root' | 'digest', number];
    await producer.kick(channel, generation, Number(rank));
    return { mode, messageId: message?.id };
  }

  /** Writes waiting, all channels (the `slack_outbox_depth` gauge). */
  async function depth(): Promise<number> {
    return (await depthAndLanes())[0];
  }

  /** Resolves true once no channel has a queued or in-flight write, false after `timeoutMs`. */
  async function idle(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await depthAndLanes())[1] === 0) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function close(): Promise<void> {
    await consumer.close();
    await producer.close();
  }

  return {
    config,
    syncIncident,
    /** A reply or plain message (same API the workers use). */
    reply: producer.reply,
    /** A file into a channel or thread (same API the workers use). */
    upload: producer.upload,
    /** Changes a message queued with `editable: true` (same API the workers use). */
    edit: producer.edit,
    start: consumer.start,
    /** Stops consuming; queued writes stay in Redis for the next start (or another replica). */
    close,
    depth,
    idle,
    sweep: consumer.sweep,
    metrics,
    keys,
  };
}

export type SlackOutbox = ReturnType<typeof createSlackOutbox>;
