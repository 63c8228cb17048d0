import crypto from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../lib/logger';
import { incidentText, renderIncidentBlocks } from '../incident-message';
import type { Incident, IncidentStore } from '../incident-store';

export interface DirectSyncOptions {
  client: WebClient;
  store: IncidentStore;
  /** Resolves the incident's channel id for its root message. */
  channelOf: (incident: Incident) => Promise<string>;
  logger: Logger;
}

/**
 * @deprecated The notifier's pre-outbox path: calls Slack directly, serialised
 * per incident in this process only, with no rate limits, no coalescing and no
 * storm mode. It remains only so that harnesses which build a notifier from a
 * bare WebClient keep working while they move to `createSlackOutbox`; the bot
 * never uses it. Delete it once nothing passes `client` without `outbox`.
 */
export function createDirectSync(options: DirectSyncOptions) {
  const { client, store, logger } = options;
  const replicaId = crypto.randomUUID();
  const chains = new Map<string, Promise<void>>();

  function serialise(id: string, task: () => Promise<void>): Promise<void> {
    const next = (chains.get(id) ?? Promise.resolve()).then(task, task).catch((err) => {
      logger.error({ err, incidentId: id }, 'slack sync failed');
    });
    chains.set(id, next);
    void next.finally(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
    return next;
  }

  async function updateRoot(incident: Incident): Promise<void> {
    await client.chat.update({ channel: incident.channel!, ts: incident.rootTs!, text: incidentText(incident), blocks: renderIncidentBlocks(incident) });
  }

  async function postRoot(incident: Incident): Promise<void> {
    if (!(await store.claimRootPost(incident.id, replicaId))) return;
    try {
      const res = await client.chat.postMessage({
        channel: await options.channelOf(incident),
        text: incidentText(incident),
        blocks: renderIncidentBlocks(incident),
        unfurl_links: false,
      });
      if (await store.setRootMessage(incident.id, String(res.channel), String(res.ts))) {
        await store.appendTimeline(incident.id, { type: 'slack_thread_opened', channel: String(res.channel), ts: String(res.ts) });
      }
    } finally {
      await store.releaseRootClaim(incident.id);
    }
  }

  async function postReply(incident: Incident, text: string): Promise<string | undefined> {
    if (!incident.rootTs || !incident.channel) return undefined;
    return (await client.chat.postMessage({ channel: incident.channel, thread_ts: incident.rootTs, text })).ts;
  }

  function sync(id: string, reply?: string): Promise<void> {
    return serialise(id, async () => {
      let incident = await store.get(id);
      if (!incident) return;
      if (!incident.rootTs) {
        await postRoot(incident);
        incident = await store.get(id);
        if (!incident?.rootTs) return;
      }
      await updateRoot(incident);
      if (reply) await postReply(incident, reply);
    });
  }

  async function drain(): Promise<void> {
    while (chains.size) await Promise.all([...chains.values()]);
  }

  return { sync, postReply, drain };
}
