import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { clipMessage } from '../../lib/slack-text';
import { EDITABLE_TTL_S, OUTBOX_FILE_MAX_BYTES, OutboxMessageSchema, type OutboxKeys, type OutboxMessage } from '../../lib/slack-outbox';
import { incidentText, renderIncidentBlocks, type Element } from '../incidents/incident-message';
import type { Incident, IncidentStore } from '../incidents/incident-store';
import type { SlackOutboxConfig } from './config';
import { renderDigest } from './digest-message';
import type { OutboxMetrics } from './metrics';
import { classifyFailure, type CallFailure } from './slack-client';

/** A write PICK_LUA handed out; its rate-limit slot is already taken. */
export interface PickedWrite {
  lane: string;
  kind: 'incident' | 'digest' | 'plain';
  mode: string;
  op: 'root' | 'update' | 'reply';
  /** Queued replies as stored, first in line first (one, or a batch for a digest thread). */
  messages: string[];
  /** The lane's thread: the root or digest message ts, when known. */
  thread: string;
  /** Epoch ms the write has been waiting since (root requested, first unsent change). */
  since?: number;
  /** A claim an earlier attempt left on this root: it may have reached Slack. */
  prevClaim: string;
  digest: string;
}

/** `consumed`: how many of the picked replies went out (or were refused) and leave the list. */
export type WriteOutcome =
  | { result: 'ok'; ts?: string; consumed?: number }
  | { result: 'ratelimited'; retryAfterMs: number }
  | { result: 'retry'; keepClaim: boolean; reason: string }
  | { result: 'drop'; reason: string; consumed?: number };

/** A batched post stays readable (Slack shows 4,000 characters before "show more"). */
const BATCH_TEXT_MAX = 3500;

/** The check for an interrupted attempt's post failed: try later, keeping the claim. */
class LookupFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LookupFailed';
  }
}

class CallFailed extends Error {
  constructor(readonly failure: CallFailure) {
    super(failure.kind === 'ratelimited' ? 'ratelimited' : failure.reason);
    this.name = 'CallFailed';
  }
}

export interface OutboxSenderDeps {
  /** Extra buttons for an incident's root message (its runbook's actions). */
  incidentButtons?: (incident: Incident) => Element[];
  client: WebClient;
  store: IncidentStore;
  redis: Redis;
  keys: OutboxKeys;
  config: SlackOutboxConfig;
  metrics: OutboxMetrics;
  logger: Logger;
  /** Where a root goes when Slack refuses its channel for good (see FALLBACK_ERRORS). */
  fallbackChannel?: () => Promise<string | undefined>;
}

/** Refusals that mean "this channel is not usable for us", not "this message is wrong": another channel can take it. */
const FALLBACK_ERRORS = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'channel_is_archived']);

/** Marker in a root or digest message's metadata: how a retry recognises its own earlier post. */
const ROOT_EVENT = 'incident_root';
const DIGEST_EVENT = 'incident_digest';
/** Marker in every reply's metadata, with its outbox message id: how a re-send after an unknown outcome finds it. */
const REPLY_EVENT = 'outbox_reply';
/** How long a reply's attempt is remembered: far longer than any retry. */
const ATTEMPT_TTL_S = 86_400;

/**
 * Performs one picked write against Slack, rendering from the incident store
 * at send time (so a coalesced edit shows the latest state), and reports the
 * outcome for COMMIT_LUA. Never throws: every failure becomes an outcome.
 */
export function createOutboxSender(deps: OutboxSenderDeps) {
  const { client, store, metrics, logger } = deps;

  async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      const res = await fn();
      metrics.calls.inc({ method, outcome: 'ok' });
      return res;
    } catch (err) {
      const failure = classifyFailure(err);
      metrics.calls.inc({ method, outcome: failure.kind === 'ratelimited' ? 'ratelimited' : 'error' });
      if (failure.kind === 'ratelimited') metrics.ratelimited.inc({ method });
      if (failure.kind === 'drop') metrics.dropped.inc({ method, error: failure.reason });
      throw new CallFailed(failure);
    }
  }

  function observe(kind: string, since: number | undefined): void {
    if (since && Number.isFinite(since)) metrics.lag.observe({ kind }, Math.max(0, Date.now() - since) / 1000);
  }

  /** A message of ours carrying `marker` posted since `sinceMs`: an earlier attempt that did reach Slack. */
  async function findPosted(channel: string, event: string, key: string, value: string, sinceMs: number): Promise<string | undefined> {
    let cursor: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const res = await call('conversations.history', () =>
        client.conversations.history({ channel, oldest: (sinceMs / 1000).toFixed(6), limit: 200, cursor, include_all_metadata: true }),
      );
      for (const m of res.messages ?? []) {
        const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }).metadata;
        if (meta?.event_type === event && meta.event_payload?.[key] === value && m.ts) return m.ts;
      }
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  /** The first reply of ours in a thread (or the channel) carrying this outbox id, since `sinceMs`. */
  async function findReply(channel: string, thread: string | undefined, outboxId: string, sinceMs: number): Promise<{ ts: string; count: number } | undefined> {
    let cursor: string | undefined;
    const oldest = (sinceMs / 1000).toFixed(6);
    for (let page = 0; page < 10; page += 1) {
      const res = thread
        ? await call('conversations.replies', () => client.conversations.replies({ channel, ts: thread, oldest, limit: 200, cursor, include_all_metadata: true }))
        : await call('conversations.history', () => client.conversations.history({ channel, oldest, limit: 200, cursor, include_all_metadata: true }));
      for (const m of res.messages ?? []) {
        const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }).metadata;
        if (meta?.event_type === REPLY_EVENT && meta.event_payload?.outbox_id === outboxId && m.ts) {
          return { ts: m.ts, count: Math.max(1, Number(meta.event_payload.count) || 1) };
        }
      }
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  /**
   * Exactly once for replies: every attempt is recorded before the post; a
   * recorded earlier attempt may have landed (Slack timed out after posting, or
   * the sender died), so the thread is searched for its metadata first. Known
   * failures forget the attempt, so only an unknown outcome costs a lookup.
   */
  async function postReplyOnce(
    channel: string,
    thread: string | undefined,
    outboxId: string,
    count: number,
    post: (metadata: { event_type: string; event_payload: Record<string, string | number> }) => Promise<unknown>,
  ): Promise<{ found?: number; response?: unknown }> {
    const key = `${deps.keys.base}attempt:${outboxId}`;
    const started = Date.now();
    const fresh = await deps.redis.set(key, String(started), 'EX', ATTEMPT_TTL_S, 'NX');
    if (!fresh) {
      const since = Number(await deps.redis.get(key)) || started - ATTEMPT_TTL_S * 1000;
      let found: { ts: string; count: number } | undefined;
      try {
        found = await findReply(channel, thread, outboxId, since - 5000);
      } catch (err) {
        throw new LookupFailed((err as Error).message);
      }
      if (found) {
        logger.warn({ channel, thread, outboxId, ts: found.ts }, 'reply of an attempt with an unknown outcome found in Slack: not posting it again');
        return { found: found.count };
      }
      await deps.redis.set(key, String(started), 'EX', ATTEMPT_TTL_S);
    }
    try {
      return { response: await post({ event_type: REPLY_EVENT, event_payload: { outbox_id: outboxId, count } }) };
    } catch (err) {
      const known = err instanceof CallFailed && !(err.failure.kind === 'retry' && err.failure.unknownOutcome);
      if (known) await deps.redis.del(key);
      throw err;
    }
  }

  const claimTime = (claim: string) => Number(claim.split('@').pop()) || 0;

  /** Looks for an interrupted attempt's post; a failed lookup keeps the claim and tries again later. */
  async function earlierPost(channel: string, w: PickedWrite, event: string, key: string, value: string): Promise<string | undefined> {
    if (!w.prevClaim) return undefined;
    try {
      return await findPosted(channel, event, key, value, claimTime(w.prevClaim) - 5000);
    } catch (err) {
      throw new LookupFailed((err as Error).message);
    }
  }

  async function rootOfIncident(channel: string, w: PickedWrite): Promise<WriteOutcome> {
    const incident = await store.get(w.lane);
    if (!incident) return { result: 'drop', reason: 'incident_missing' };
    if (incident.rootTs) return { result: 'ok', ts: incident.rootTs };
    let ts = await earlierPost(channel, w, ROOT_EVENT, 'incident_id', incident.id);
    let posted = channel;
    const post = (to: string) =>
      call('chat.postMessage', () =>
        client.chat.postMessage({
          channel: to,
          text: incidentText(incident),
          blocks: renderIncidentBlocks(incident, deps.incidentButtons?.(incident)),
          unfurl_links: false,
          metadata: { event_type: ROOT_EVENT, event_payload: { incident_id: incident.id } },
        }),
      );
    if (ts) logger.warn({ incidentId: incident.id, ts }, 'root message of an interrupted attempt found in Slack: recording it, not posting again');
    else {
      let res;
      try {
        res = await post(channel);
      } catch (err) {
        const fallback = await fallbackFor(err, channel);
        if (!fallback) throw err;
        const reason = (err as CallFailed).failure.kind === 'drop' ? (err as CallFailed).message : 'refused';
        logger.error({ incidentId: incident.id, channel, fallback, reason }, "Slack refused the incident's channel; posting its thread in the fallback channel");
        res = await post(fallback);
        posted = fallback;
        metrics.rootFallbacks.inc({ error: reason });
        await store.appendTimeline(incident.id, { type: 'slack_channel_refused', channel, error: reason, fallback });
      }
      ts = String(res.ts);
      observe('root', w.since);
    }
    if (await store.setRootMessage(incident.id, posted, ts)) {
      await store.appendTimeline(incident.id, { type: 'slack_thread_opened', channel: posted, ts });
    } else {
      logger.error({ incidentId: incident.id, ts }, 'another root message was recorded first: this one is extra');
    }
    return { result: 'ok', ts };
  }

  /** The fallback channel for a root Slack refused with `err` in `channel`, when there is one to try. */
  async function fallbackFor(err: unknown, channel: string): Promise<string | undefined> {
    if (!(err instanceof CallFailed) || err.failure.kind !== 'drop' || !FALLBACK_ERRORS.has(err.failure.reason)) return undefined;
    const fallback = await deps.fallbackChannel?.().catch(() => undefined);
    return fallback && fallback !== channel ? fallback : undefined;
  }

  async function updateIncident(w: PickedWrite): Promise<WriteOutcome> {
    const incident = await store.get(w.lane);
    if (!incident?.rootTs || !incident.channel) return { result: 'drop', reason: 'no_root_message' };
    await call('chat.update', () =>
      client.chat.update({ channel: incident.channel!, ts: incident.rootTs!, text: incidentText(incident), blocks: renderIncidentBlocks(incident, deps.incidentButtons?.(incident)) }),
    );
    observe('update', w.since);
    return { result: 'ok' };
  }

  function parseMessage(raw: string | undefined): OutboxMessage | undefined {
    try {
      const parsed = OutboxMessageSchema.safeParse(JSON.parse(raw ?? 'null'));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  const labelled = (msg: OutboxMessage) => clipMessage(msg.incidentId ? `*${msg.incidentId}* · ${msg.text}` : msg.text);

  async function reply(channel: string, w: PickedWrite): Promise<WriteOutcome> {
    const msg = parseMessage(w.messages[0]);
    if (!msg) return { result: 'drop', reason: 'invalid_message', consumed: 1 };
    let thread: string | undefined = w.thread || undefined;
    let text = msg.text;
    // An incident's thread may live in the fallback channel (its own was refused): replies follow it there.
    let target = channel;
    if (w.kind === 'incident' && w.mode === 'digest') text = labelled(msg);
    else if (w.kind === 'incident') {
      const incident = await store.get(w.lane);
      thread ??= incident?.rootTs ?? msg.threadTs;
      target = incident?.channel ?? channel;
    } else thread = msg.threadTs;
    if (w.kind === 'incident' && !thread) return { result: 'drop', reason: 'no_thread', consumed: 1 };
    if (msg.file) return uploadFile(target, thread, msg, text);
    if (msg.edit) return editMessage(msg.edit.of);
    const { found, response } = await postReplyOnce(target, thread, msg.id, 1, (metadata) =>
      call('chat.postMessage', () =>
        client.chat.postMessage({ channel: target, thread_ts: thread, text, ...(msg.blocks ? { blocks: msg.blocks as never } : {}), unfurl_links: false, metadata }),
      ),
    );
    if (!found) observe('reply', msg.enqueuedAt);
    const res = response as { ts?: string; channel?: string } | undefined;
    if (msg.editable && res?.ts) {
      await deps.redis.set(deps.keys.posted(msg.id), JSON.stringify({ channel: res.channel ?? target, ts: res.ts }), 'EX', EDITABLE_TTL_S);
    }
    return { result: 'ok', consumed: 1 };
  }

  /**
   * An edit of an editable message: the newest stored content, onto the ts the
   * post recorded. It takes the channel's post slot (a lane's writes go one at
   * a time), not the workspace's chat.update bucket: checklist edits are rare.
   */
  async function editMessage(of: string): Promise<WriteOutcome> {
    const [posted, content] = await Promise.all([deps.redis.get(deps.keys.posted(of)), deps.redis.get(deps.keys.edit(of))]);
    if (!posted || !content) {
      logger.warn({ of, posted: Boolean(posted), content: Boolean(content) }, 'outbox edit of a message that never posted (or expired)');
      return { result: 'drop', reason: 'edit_target_unknown', consumed: 1 };
    }
    const where = JSON.parse(posted) as { channel: string; ts: string };
    const body = JSON.parse(content) as { text: string; blocks?: unknown[] };
    await call('chat.update', () => client.chat.update({ channel: where.channel, ts: where.ts, text: body.text, ...(body.blocks ? { blocks: body.blocks as never } : {}) }));
    observe('update', undefined);
    return { result: 'ok', consumed: 1 };
  }

  /**
   * A queued file: its bytes from their own key, then Slack's external upload
   * flow (get an upload URL, POST the bytes, complete into the channel or
   * thread). Each step is one counted call. Bytes gone (expired) or over the
   * bound: the upload is refused for good and logged.
   */
  async function uploadFile(channel: string, thread: string | undefined, msg: OutboxMessage, text: string): Promise<WriteOutcome> {
    const file = msg.file!;
    const bytes = await deps.redis.getBuffer(deps.keys.file(msg.id));
    if (!bytes) return { result: 'drop', reason: 'file_missing', consumed: 1 };
    if (bytes.length > OUTBOX_FILE_MAX_BYTES) return { result: 'drop', reason: 'file_too_large', consumed: 1 };
    const target = await call('files.getUploadURLExternal', () => client.files.getUploadURLExternal({ filename: file.filename, length: bytes.length }));
    if (!target.upload_url || !target.file_id) return { result: 'retry', keepClaim: false, reason: 'no_upload_url' };
    await call('files.upload', async () => {
      const res = await fetch(target.upload_url!, { method: 'POST', body: new Uint8Array(bytes), signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw Object.assign(new Error(`upload URL answered ${res.status}`), { code: 'slack_webapi_http_error', statusCode: res.status });
      await res.arrayBuffer();
    });
    const files = [{ id: target.file_id, title: file.title ?? file.filename }];
    await call('files.completeUploadExternal', () =>
      client.files.completeUploadExternal({
        files: files as [{ id: string; title?: string }],
        channel_id: channel,
        ...(thread ? { thread_ts: thread } : {}),
        ...(text ? { initial_comment: text } : {}),
      } as never),
    );
    observe('upload', msg.enqueuedAt);
    await deps.redis.del(deps.keys.file(msg.id));
    return { result: 'ok', consumed: 1 };
  }

  /**
   * Replies of a digest's incidents, in the digest's thread: as many queued
   * text replies as fit go out in one post, each line led by its incident id,
   * so the thread keeps up with a storm at one post a second.
   */
  async function digestReplies(channel: string, w: PickedWrite): Promise<WriteOutcome> {
    const batch: OutboxMessage[] = [];
    let length = 0;
    for (const raw of w.messages) {
      const msg = parseMessage(raw);
      if (!msg) {
        if (batch.length === 0) return { result: 'drop', reason: 'invalid_message', consumed: 1 };
        break;
      }
      if (msg.file || msg.edit) {
        if (batch.length > 0) break;
        return msg.edit ? editMessage(msg.edit.of) : uploadFile(channel, w.thread, msg, msg.text ? labelled(msg) : '');
      }
      const line = labelled(msg);
      if (batch.length > 0 && (msg.blocks || batch[0]!.blocks || length + 1 + line.length > BATCH_TEXT_MAX)) break;
      batch.push(msg);
      length += line.length + 1;
    }
    const first = batch[0]!;
    const { found } = await postReplyOnce(channel, w.thread || undefined, first.id, batch.length, (metadata) =>
      call('chat.postMessage', () =>
        client.chat.postMessage({
          channel,
          thread_ts: w.thread,
          text: batch.map(labelled).join('\n'),
          ...(first.blocks ? { blocks: first.blocks as never } : {}),
          unfurl_links: false,
          metadata,
        }),
      ),
    );
    // The earlier attempt's post carried its own batch: that many leave the list.
    if (found) return { result: 'ok', consumed: Math.min(found, w.messages.length) };
    for (const msg of batch) observe('reply', msg.enqueuedAt);
    return { result: 'ok', consumed: batch.length };
  }

  async function digestMembers(lane: string): Promise<Incident[]> {
    const ids = await deps.redis.zrange(`${deps.keys.lane(lane)}:members`, 0, -1);
    const found = await Promise.all(ids.map((id) => store.get(id)));
    return found.filter((i): i is Incident => i !== undefined);
  }

  /** Every listed incident without a thread of its own gets the digest as its thread (first writer wins). */
  async function linkMembers(members: Incident[], channel: string, ts: string): Promise<void> {
    for (const m of members) {
      if (m.rootTs) continue;
      if (await store.setRootMessage(m.id, channel, ts)) {
        await store.appendTimeline(m.id, { type: 'slack_digest_listed', channel, ts });
        metrics.digested.inc();
      }
    }
  }

  async function digest(channel: string, w: PickedWrite): Promise<WriteOutcome> {
    const members = await digestMembers(w.lane);
    const { text, blocks } = renderDigest(members, deps.config.stormThresholdPerMinute);
    let ts = w.op === 'update' ? w.thread : undefined;
    if (w.op === 'root') {
      ts = await earlierPost(channel, w, DIGEST_EVENT, 'digest', w.lane);
      if (!ts) {
        const res = await call('chat.postMessage', () =>
          client.chat.postMessage({ channel, text, blocks, unfurl_links: false, metadata: { event_type: DIGEST_EVENT, event_payload: { digest: w.lane } } }),
        );
        ts = String(res.ts);
        observe('digest', w.since);
      }
    } else {
      if (!ts) return { result: 'drop', reason: 'no_digest_message' };
      await call('chat.update', () => client.chat.update({ channel, ts: ts!, text, blocks }));
      observe('update', w.since);
    }
    await linkMembers(members, channel, ts);
    return { result: 'ok', ts };
  }

  async function perform(channel: string, w: PickedWrite): Promise<WriteOutcome> {
    try {
      if (w.kind === 'digest') return w.op === 'reply' ? await digestReplies(channel, w) : await digest(channel, w);
      if (w.op === 'root') return await rootOfIncident(channel, w);
      if (w.op === 'update') return await updateIncident(w);
      return await reply(channel, w);
    } catch (err) {
      if (err instanceof LookupFailed) {
        logger.warn({ lane: w.lane, channel, op: w.op, reason: err.message }, 'could not check Slack for an interrupted post; will retry');
        return { result: 'retry', keepClaim: true, reason: err.message };
      }
      const failure: CallFailure =
        err instanceof CallFailed ? err.failure : { kind: 'retry', unknownOutcome: true, reason: (err as Error).message ?? String(err) };
      if (failure.kind === 'ratelimited') return { result: 'ratelimited', retryAfterMs: failure.retryAfterMs };
      if (failure.kind === 'drop') {
        logger.error({ lane: w.lane, op: w.op, channel, reason: failure.reason }, 'Slack refused an outbox write for good');
        return { result: 'drop', reason: failure.reason, consumed: 1 };
      }
      logger.warn({ lane: w.lane, op: w.op, channel, reason: failure.reason }, 'outbox write failed; will retry');
      return { result: 'retry', keepClaim: failure.unknownOutcome, reason: failure.reason };
    }
  }

  return { perform };
}

export type OutboxSender = ReturnType<typeof createOutboxSender>;
