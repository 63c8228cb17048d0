import crypto from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../lib/logger';
import type { ChannelResolver } from './slack-channels';
import type { Incident, IncidentStore, Priority } from './incident-store';
import { incidentText, renderIncidentBlocks } from './incident-message';

export interface IncidentNotifierOptions {
  client: WebClient;
  store: IncidentStore;
  resolveChannel: ChannelResolver;
  /** Channel name per priority. */
  channelFor: (priority: Priority) => string;
  logger: Logger;
  /** How long a replica waits for another replica's root post before giving up this sync. */
  rootWaitMs?: number;
}

/**
 * Keeps an incident's Slack thread in step with Redis. Syncs of one incident
 * run one after another in this process (a Redis lease covers other replicas),
 * and each sync renders the latest stored state, so a burst of webhooks ends
 * with the root message showing the newest state and never a second root.
 */
export function createIncidentNotifier(options: IncidentNotifierOptions) {
  const { client, store, logger } = options;
  const replicaId = crypto.randomUUID();
  const chains = new Map<string, Promise<void>>();

  function serialise(id: string, task: () => Promise<void>): Promise<void> {
    const prev = chains.get(id) ?? Promise.resolve();
    const next = prev.then(task, task).catch((err) => {
      logger.error({ err, incidentId: id }, 'slack sync failed');
    });
    chains.set(id, next);
    void next.finally(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
    return next;
  }

  async function postRoot(incident: Incident): Promise<Incident | undefined> {
    if (!(await store.claimRootPost(incident.id, replicaId))) return waitForRoot(incident.id);
    try {
      const channel = await options.resolveChannel(options.channelFor(incident.priority));
      const res = await client.chat.postMessage({
        channel,
        text: incidentText(incident),
        blocks: renderIncidentBlocks(incident),
        unfurl_links: false,
      });
      await store.setRootMessage(incident.id, res.channel as string, res.ts as string);
      await store.appendTimeline(incident.id, { type: 'slack_thread_opened', channel: String(res.channel), ts: String(res.ts) });
      const after = await store.get(incident.id);
      // State moved on while we were posting: bring the message up to date.
      if (after && after.version !== incident.version) await updateRoot(after);
      return undefined;
    } finally {
      await store.releaseRootClaim(incident.id);
    }
  }

  async function waitForRoot(id: string): Promise<Incident | undefined> {
    const deadline = Date.now() + (options.rootWaitMs ?? 10_000);
    while (Date.now() < deadline) {
      const incident = await store.get(id);
      if (incident?.rootTs) return incident;
      await new Promise((r) => setTimeout(r, 100));
    }
    logger.warn({ incidentId: id }, 'root message not posted by another replica in time');
    return undefined;
  }

  async function updateRoot(incident: Incident): Promise<void> {
    await client.chat.update({
      channel: incident.channel!,
      ts: incident.rootTs!,
      text: incidentText(incident),
      blocks: renderIncidentBlocks(incident),
    });
  }

  /** Brings the root message up to date and, if given, adds a reply to the thread. */
  function sync(id: string, reply?: string): Promise<void> {
    return serialise(id, async () => {
      let incident = await store.get(id);
      if (!incident) return;
      if (!incident.rootTs) {
        const posted = await postRoot(incident);
        if (!posted) {
          incident = await store.get(id);
          if (!incident?.rootTs) return;
        } else {
          incident = posted;
          await updateRoot(incident);
        }
      } else {
        await updateRoot(incident);
      }
      if (reply) await postReply(incident, reply);
    });
  }

  async function postReply(incident: Incident, text: string): Promise<string | undefined> {
    if (!incident.rootTs || !incident.channel) return undefined;
    const res = await client.chat.postMessage({ channel: incident.channel, thread_ts: incident.rootTs, text });
    return res.ts;
  }

  /** Waits for every sync queued so far (graceful shutdown, tests). */
  async function drain(): Promise<void> {
    while (chains.size) await Promise.all([...chains.values()]);
  }

  return { sync, postReply, drain };
}

export type IncidentNotifier = ReturnType<typeof createIncidentNotifier>;
