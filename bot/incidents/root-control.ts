import type { BlockAction } from '@slack/bolt';
import type { Incident } from './incident-store';

/**
 * True when a clicked control sits on the incident's own root message (same ts, and
 * same channel once the incident has one). The controls of an incident live there
 * only, so a button value naming another incident is refused, never acted on.
 */
export function isOnOwnRoot(incident: Pick<Incident, 'rootTs' | 'channel'>, body: BlockAction): boolean {
  const messageTs = body.container?.message_ts ?? body.message?.ts;
  const channelId = body.channel?.id ?? body.container?.channel_id;
  return incident.rootTs === messageTs && (!incident.channel || incident.channel === channelId);
}
