import { ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { clipMessage } from '../../lib/slack-text';
import type { ChannelResolver } from './slack-channels';
import type { Incident, IncidentStore, Priority } from './incident-store';
import type { SlackOutbox } from '../slack-outbox';

export interface IncidentNotifierOptions {
  store: IncidentStore;
  resolveChannel: ChannelResolver;
  /** Channel name per priority, for incidents that routing gave no channel. */
  channelFor: (priority: Priority) => string;
  logger: Logger;
  /** Every Slack write goes through it: limits, ordering, coalescing, storm digests. */
  outbox: SlackOutbox;
  /** How long `drain()` waits for the outbox to empty. @defaultValue 10000 */
  drainTimeoutMs?: number;
}

export interface IncidentNotifier {
  /**
   * Queues the root message (posted once) or an edit of it, and a reply after it if given. Never rejects.
   * `known`: the incident as the caller just read it (it saves a read; the root is rendered from the store at send time anyway).
   */
  sync(id: string, reply?: string, known?: Incident): Promise<void>;
  /**
   * Queues a reply in the incident's thread; resolves with the outbox message id once it is in Redis.
   * A stable `dedupeId` makes it idempotent: a second reply with the same id (a retried job) is skipped.
   */
  postReply(incident: Incident, text: string, dedupeId?: string): Promise<string>;
  /**
   * Queues an edit of the root (the incident changed) and a reply after it, idempotent by `dedupeId`; resolves
   * once both are in Redis and rejects when they could not be queued (unlike `sync`: the caller keeps the reply
   * owed and tries again).
   */
  syncReply(incident: Incident, text: string, dedupeId: string): Promise<void>;
  /** Waits (bounded) until queued writes reached Slack: graceful shutdown, tests. */
  drain(timeoutMs?: number): Promise<void>;
}

/**
 * Keeps an incident's Slack presence in step with Redis, through the outbox.
 * `sync` and `postReply` return once the work is queued in Redis (milliseconds);
 * the outbox sends it in order (root before replies, replies in order) within
 * Slack's limits, rendering the root from the store at send time, so a burst of
 * changes ends as one edit showing the newest state. During an alert storm an
 * incident may be a line in a digest message instead of a root of its own;
 * its replies then go to the digest's thread, prefixed with its id.
 */
export function createIncidentNotifier(options: IncidentNotifierOptions): IncidentNotifier {
  const { store, logger, outbox } = options;
  const pending = new Set<Promise<unknown>>();

  // One lookup per channel name at a time: a storm's first webhooks all miss the resolver's cache at once,
  // and conversations.list is a Tier 2 method.
  const resolving = new Map<string, Promise<string>>();
  function resolveOnce(name: string): Promise<string> {
    let pendingLookup = resolving.get(name);
    if (!pendingLookup) {
      pendingLookup = options.resolveChannel(name).finally(() => resolving.delete(name));
      resolving.set(name, pendingLookup);
    }
    return pendingLookup;
  }

  async function channelOf(incident: Incident): Promise<string> {
    return incident.channel ?? resolveOnce(incident.route || options.channelFor(incident.priority));
  }

  function track<T>(work: Promise<T>): Promise<T> {
    pending.add(work);
    void work.finally(() => pending.delete(work)).catch(() => undefined);
    return work;
  }

  async function enqueue(incident: Incident, dirty: boolean, reply?: string, dedupeId?: string): Promise<string | undefined> {
    const { messageId } = await outbox.syncIncident({
      incidentId: incident.id,
      channel: await channelOf(incident),
      priority: incident.priority,
      rootTs: incident.rootTs,
      dirty,
      reply: reply ? { text: clipMessage(reply), ...(dedupeId ? { id: dedupeId } : {}) } : undefined,
    });
    return messageId;
  }

  // Callers fire and forget: failures are logged, never thrown.
  function sync(id: string, reply?: string, known?: Incident): Promise<void> {
    return track(
      (async () => {
        const incident = known?.id === id ? known : await store.get(id);
        if (incident) await enqueue(incident, true, reply);
      })().catch((err) => logger.error({ err, incidentId: id }, 'could not queue the Slack sync of an incident')),
    );
  }

  function postReply(incident: Incident, text: string, dedupeId?: string): Promise<string> {
    if (!text) return Promise.reject(new ValidationError(`${incident.id}: empty reply`));
    // A non-empty reply always gets an outbox id.
    return track(enqueue(incident, false, text, dedupeId).then((id) => id ?? ''));
  }

  async function syncReply(incident: Incident, text: string, dedupeId: string): Promise<void> {
    if (!text) throw new ValidationError(`${incident.id}: empty reply`);
    await track(enqueue(incident, true, text, dedupeId));
  }

  async function drain(timeoutMs = options.drainTimeoutMs ?? 10_000): Promise<void> {
    while (pending.size) await Promise.allSettled([...pending]);
    if (!(await outbox.idle(timeoutMs))) logger.warn({ timeoutMs }, 'slack outbox still has writes queued; they stay in Redis');
  }

  return { sync, postReply, syncReply, drain };
}
