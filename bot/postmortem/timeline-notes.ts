import type { App, MessageShortcut, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { ephemeral, type OpsVerb } from '../commands/types';
import type { IncidentNotifier } from '../incidents/incident-notifier';
import type { IncidentStore } from '../incidents/incident-store';

/** The message shortcut's callback id (slack/manifest.yml declares it). */
export const ADD_TO_TIMELINE_SHORTCUT = 'add_to_timeline';
/** The reaction that puts a thread message on the incident's timeline. */
export const PIN_REACTION = 'pushpin';
/** A note keeps what a person wrote; this is Slack's own message limit, so nothing Slack accepted is cut. */
const NOTE_MAX = 40_000;

export interface TimelineNotesOptions {
  store: IncidentStore;
  notifier: Pick<IncidentNotifier, 'postReply'>;
  client: WebClient;
  redis: Redis;
  prefix: string;
  logger: Logger;
}

/** Slack ts (seconds.micros) → ISO time: a pinned message keeps the time it was written. */
export function tsToIso(ts: string): string {
  return new Date(Math.round(Number(ts) * 1000)).toISOString();
}

/**
 * What people add to an incident's timeline: `/ops note INC-42 <text>`, a
 * :pushpin: reaction on any message in the incident's thread, or the message
 * shortcut "Add to timeline". Each note keeps its original time and author
 * (for a pinned message: who wrote it and when, plus who pinned it); a message
 * is added once however often it is pinned. Entries are appended, never edited.
 */
export function createTimelineNotes(options: TimelineNotesOptions) {
  const { store, notifier, client, redis, prefix, logger } = options;
  const onceKey = (channel: string, ts: string) => `${prefix}:inc:note:${channel}:${ts}`;

  /** The incident whose thread holds message `ts` in `channel`, and the message itself. */
  async function locate(channel: string, ts: string): Promise<{ incidentId: string; text: string; user?: string } | undefined> {
    const res = await client.conversations.replies({ channel, ts, limit: 1000 });
    const messages = (res.messages ?? []) as Array<{ ts?: string; text?: string; user?: string; bot_id?: string }>;
    const parent = messages[0];
    const message = messages.find((m) => m.ts === ts);
    if (!parent?.ts || !message) return undefined;
    const incidentId = await store.byRootMessage(channel, parent.ts);
    return incidentId ? { incidentId, text: message.text ?? '', ...(message.user ? { user: message.user } : {}) } : undefined;
  }

  /** Adds a message of a thread; false when it is not in an incident thread or was added before. */
  async function addMessage(channel: string, ts: string, addedBy: string, source: 'pushpin' | 'shortcut'): Promise<{ added: boolean; incidentId?: string; reason?: string }> {
    const found = await locate(channel, ts);
    if (!found) return { added: false, reason: 'That message is not in an incident thread.' };
    if ((await redis.set(onceKey(channel, ts), found.incidentId, 'EX', 180 * 86_400, 'NX')) !== 'OK') {
      return { added: false, incidentId: found.incidentId, reason: `That message is already on ${found.incidentId}'s timeline.` };
    }
    await store.appendTimeline(found.incidentId, {
      at: tsToIso(ts),
      type: 'note',
      by: found.user ?? addedBy,
      text: found.text.slice(0, NOTE_MAX),
      source,
      addedBy,
      addedAt: new Date().toISOString(),
      messageTs: ts,
    });
    const incident = await store.get(found.incidentId);
    if (incident) await notifier.postReply(incident, `📌 <@${addedBy}> added a message to ${found.incidentId}'s timeline.`, `note-${channel}-${ts}`.replace(/[^A-Za-z0-9_.-]/g, '_'));
    return { added: true, incidentId: found.incidentId };
  }

  const noteVerb: OpsVerb = {
    name: 'note',
    usage: '/ops note INC-42 <text>',
    summary: "add a note to an incident's timeline (it goes into the post-mortem)",
    async run(ctx) {
      const id = ctx.args[0]?.toUpperCase() ?? '';
      if (!/^INC-\d+$/.test(id)) return ephemeral(`Name the incident: \`${noteVerb.usage}\``);
      // The text as typed: everything after the incident id, whitespace kept.
      const text = ctx.text.replace(/^\s*note\s+\S+\s?/i, '');
      if (!text.trim()) return ephemeral(`Say what to note: \`${noteVerb.usage}\``);
      if (text.length > NOTE_MAX) return ephemeral(`That note is ${text.length} characters; the most is ${NOTE_MAX}. Nothing was added.`);
      const incident = await store.get(id);
      if (!incident) return ephemeral(`There is no ${id}.`);
      await store.appendTimeline(id, { at: ctx.now.toISOString(), type: 'note', by: ctx.userId, text, source: 'command' });
      await notifier.postReply(incident, `📝 <@${ctx.userId}> added a note to the timeline.`);
      return ephemeral(`📝 Noted on ${id}'s timeline.`);
    },
  };

  function register(app: App): void {
    app.event('reaction_added', async ({ event }: SlackEventMiddlewareArgs<'reaction_added'>) => {
      if (event.reaction !== PIN_REACTION || event.item.type !== 'message') return;
      try {
        const result = await addMessage(event.item.channel, event.item.ts, event.user, 'pushpin');
        if (!result.added) logger.debug({ reason: result.reason, channel: event.item.channel }, 'pushpin not added to a timeline');
      } catch (err) {
        logger.error({ err, item: event.item }, 'could not add a pinned message to the timeline');
      }
    });
    app.shortcut<MessageShortcut>(ADD_TO_TIMELINE_SHORTCUT, async ({ ack, shortcut, respond }) => {
      await ack();
      try {
        const result = await addMessage(shortcut.channel.id, shortcut.message_ts, shortcut.user.id, 'shortcut');
        await respond({ response_type: 'ephemeral', text: result.added ? `📌 Added to ${result.incidentId}'s timeline.` : (result.reason ?? 'Not added.') });
      } catch (err) {
        logger.error({ err }, 'add to timeline shortcut failed');
        await respond({ response_type: 'ephemeral', text: `⚠️ Could not add that message: ${(err as Error).message}` });
      }
    });
  }

  return { noteVerb, register, addMessage };
}
