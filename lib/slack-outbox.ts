import crypto from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { QueueName } from './contracts';
import { ValidationError } from './errors';
import type { Logger } from './logger';
import { clipMessage } from './slack-text';
import { redisScript } from './redis-script';

/**
 * The producer side of the Slack outbox: every Slack write of the product (bot
 * and workers) is a Redis record here, and the bot's outbox consumer
 * (`bot/slack-outbox/`) is the only code that calls Slack's write methods.
 *
 * Shape in Redis (all under `<prefix>:outbox:`):
 * - a *lane* per ordering unit (an incident, a storm digest, a plain channel
 *   feed): a hash of its state (`lane:<id>`) and a FIFO list of replies
 *   (`lane:<id>:ops`). Writes of one lane go out in order, one at a time.
 * - per channel, the lanes that have work, in a sorted set scored by priority
 *   then time (`ch:<channel>:ready`): P1 first, FIFO within a priority.
 * - per channel, one BullMQ *pump* job at a time on the `slack-outbox` queue
 *   (job id `pump-<channel>-<generation>`): it sends that channel's writes as
 *   fast as the channel's limits allow. Its BullMQ priority is the best
 *   priority waiting in the channel, so P1 channels are served first.
 * Everything is in Redis: a restart loses nothing. Lane state is kept as long
 * as the incidents it belongs to (a few fields each); empty lists vanish.
 */

/** The BullMQ queue every Slack write goes through. */
export const SLACK_OUTBOX_QUEUE = QueueName.SlackOutbox;

/** Slack channel ids (C…, G…, D…); names are resolved before they get here. Also BullMQ-id safe. */
export const SlackChannelIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/, 'expected a Slack channel id');
export const SlackTsSchema = z.string().regex(/^\d+\.\d+$/, 'must be a Slack ts');
/** Lane ids go into BullMQ job ids and Redis keys: no ':' and nothing exotic. */
export const OutboxLaneIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,120}$/, 'letters, digits, _ . - only');

export const OUTBOX_PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type OutboxPriority = (typeof OUTBOX_PRIORITIES)[number];

/** Largest file the outbox takes (Slack allows far more; a report or an export is a few hundred KB). */
export const OUTBOX_FILE_MAX_BYTES = 5 * 1024 * 1024;

/**
 * A file upload waiting in a lane. The bytes are not in the lane's list: they
 * sit in their own key (`file:<message id>`, expiring with the seen marker) so
 * the hot structures the pump scans stay small.
 */
export const OutboxFileSchema = z.object({
  filename: z.string().min(1).max(255),
  title: z.string().max(255).optional(),
  size: z.number().int().nonnegative().max(OUTBOX_FILE_MAX_BYTES),
});
export type OutboxFile = z.infer<typeof OutboxFileSchema>;

/** One reply (or plain channel message, or file upload) waiting in a lane. */
export const OutboxMessageSchema = z.object({
  id: z.string().min(1),
  /** The message text; for a file, its initial comment (may be empty). */
  text: z.string().max(40_000),
  file: OutboxFileSchema.optional(),
  /** Record where it was posted (`posted:<id>`), so `edit()` can change it later. */
  editable: z.literal(true).optional(),
  /** An edit of an earlier editable message (its outbox id): the latest content is in `edit:<of>`. */
  edit: z.object({ of: z.string().min(1) }).optional(),
  blocks: z.array(z.record(z.string(), z.unknown())).max(50).optional(),
  /** Explicit thread; incident lanes use the incident's own thread when the bot knows it. */
  threadTs: SlackTsSchema.optional(),
  /** The incident it is about: a storm digest's thread prefixes each reply with it. */
  incidentId: z.string().regex(/^INC-\d+$/).optional(),
  /** Epoch ms, for the send-lag histogram. */
  enqueuedAt: z.number().int().nonnegative(),
}).refine((m) => m.text.length > 0 || m.file !== undefined, { message: 'a message needs text', path: ['text'] });
export type OutboxMessage = z.infer<typeof OutboxMessageSchema>;

/** The data of a pump job: which channel to drain. */
export const OutboxPumpJobSchema = z.object({ channel: SlackChannelIdSchema });
export type OutboxPumpJob = z.infer<typeof OutboxPumpJobSchema>;

/** How long an editable message can be edited (its `posted:` record and its latest content are kept). */
export const EDITABLE_TTL_S = 14 * 86_400;

/* Stores an edit's content unless newer content is stored already; returns 1 when stored. */
const STORE_EDIT_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cjson.decode(cur).version) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
`;
const STORE_EDIT_LUA_SCRIPT = redisScript(STORE_EDIT_LUA);

/** How long an enqueued message id is remembered, to skip a repeat of it: far longer than any re-send or job retry. */
export const SEEN_MESSAGE_TTL_S = 86_400;

export const OutboxReplyInputSchema = z.object({
  /** A stable id makes the enqueue idempotent: a second reply with the same id is skipped. @defaultValue a random UUID */
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,160}$/, 'letters, digits, _ . - only').optional(),
  /** Ordering unit: an incident id keeps its replies in order behind its root message. @defaultValue `ch-<channel>` */
  lane: OutboxLaneIdSchema.optional(),
  channel: SlackChannelIdSchema,
  threadTs: SlackTsSchema.optional(),
  text: z.string().min(1).max(40_000),
  blocks: z.array(z.record(z.string(), z.unknown())).max(50).optional(),
  /** Priority of the lane; an existing lane keeps the one the bot gave it. */
  priority: z.enum(OUTBOX_PRIORITIES).optional(),
  /** Keep where it lands, so `edit()` can change it (checklists). */
  editable: z.boolean().optional(),
});
export type OutboxReplyInput = z.input<typeof OutboxReplyInputSchema>;

export const OutboxEditInputSchema = z.object({
  /** The outbox id of a message queued with `editable: true`. */
  of: OutboxReplyInputSchema.shape.id.unwrap(),
  /** Same lane (and channel) as the message, so the edit goes out after it. @defaultValue `ch-<channel>` */
  lane: OutboxLaneIdSchema.optional(),
  channel: SlackChannelIdSchema,
  text: z.string().min(1).max(40_000),
  blocks: z.array(z.record(z.string(), z.unknown())).max(50).optional(),
  /**
   * Increases with every change of what the message shows: an edit older than
   * the content already stored is skipped, so concurrent editors never go back.
   */
  version: z.number().int().positive(),
});
export type OutboxEditInput = z.input<typeof OutboxEditInputSchema>;

export const OutboxUploadInputSchema = z.object({
  /** A stable id makes the upload idempotent: a second upload with the same id is skipped. @defaultValue a random UUID */
  id: OutboxReplyInputSchema.shape.id,
  /** Ordering unit, as for replies. @defaultValue `ch-<channel>` */
  lane: OutboxLaneIdSchema.optional(),
  channel: SlackChannelIdSchema,
  threadTs: SlackTsSchema.optional(),
  filename: z.string().min(1).max(255).regex(/^[^/\\]+$/, 'a file name, no path'),
  title: z.string().min(1).max(255).optional(),
  initialComment: z.string().min(1).max(40_000).optional(),
  content: z.union([z.instanceof(Buffer), z.string()]),
  priority: z.enum(OUTBOX_PRIORITIES).optional(),
});
export type OutboxUploadInput = z.input<typeof OutboxUploadInputSchema>;

/** Key names, shared by producers and the consumer. */
export function outboxKeys(prefix: string) {
  const base = `${prefix}:outbox:`;
  return {
    /** Prefix that the Lua scripts build lane and channel keys from. */
    base,
    lane: (lane: string) => `${base}lane:${lane}`,
    ops: (lane: string) => `${base}lane:${lane}:ops`,
    ready: (channel: string) => `${base}ch:${channel}:ready`,
    gen: (channel: string) => `${base}ch:${channel}:gen`,
    channels: `${base}channels`,
    /** Set while a message id counts as enqueued (a repeat of it is skipped). */
    seen: (messageId: string) => `${base}seen:${messageId}`,
    /** A queued upload's bytes, until it is sent (or the seen marker's TTL passes). */
    file: (messageId: string) => `${base}file:${messageId}`,
    /** Where an editable message landed: JSON {channel, ts}. */
    posted: (messageId: string) => `${base}posted:${messageId}`,
    /** The latest content for an editable message: JSON {text, blocks, version}. */
    edit: (messageId: string) => `${base}edit:${messageId}`,
  };
}

export type OutboxKeys = ReturnType<typeof outboxKeys>;

export const priorityRank = (p: OutboxPriority | undefined): number => (p ? OUTBOX_PRIORITIES.indexOf(p) + 1 : 0);

/** A pump job's id: one live pump per channel and generation (see the consumer). */
export const pumpJobId = (channel: string, generation: string | number) => `pump-${channel}-${generation}`;

/*
 * Appends one message to a lane and marks the lane ready in its channel. The
 * lane's channel is write-once (the first writer decides), so a lane never
 * moves between channels. An incident listed in a storm digest has its replies
 * queued on the digest's lane (its thread). Returns the channel, the pump
 * generation and the lane's priority rank, for the caller to add the pump job.
 * A message id seen before is not queued again: ioredis re-sends a command that
 * got no reply before a Redis restart (and a caller's retry may pass the same
 * id), and Redis may have run and persisted the first one.
 */
export const ENQUEUE_MESSAGE_LUA = `
local base, laneId, channel, rank, op, kind = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local fresh = redis.call('SET', base .. 'seen:' .. ARGV[7], '1', 'NX', 'EX', tonumber(ARGV[8]))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lane = base .. 'lane:' .. laneId
redis.call('HSETNX', lane, 'channel', channel)
redis.call('HSETNX', lane, 'kind', kind)
local ch = redis.call('HGET', lane, 'channel')
if rank > 0 then redis.call('HSET', lane, 'prio', rank) else rank = tonumber(redis.call('HGET', lane, 'prio') or '3') end
if redis.call('HGET', lane, 'mode') == 'digest' then
  laneId = redis.call('HGET', lane, 'digest')
  lane = base .. 'lane:' .. laneId
  rank = math.min(rank, tonumber(redis.call('HGET', lane, 'prio') or '3'))
end
if fresh then
  redis.call('RPUSH', lane .. ':ops', op)
  redis.call('ZADD', base .. 'ch:' .. ch .. ':ready', 'LT', rank * 1e13 + now, laneId)
  redis.call('SADD', base .. 'channels', ch)
end
return {ch, redis.call('GET', base .. 'ch:' .. ch .. ':gen') or '0', rank}
`;
const ENQUEUE_MESSAGE_LUA_SCRIPT = redisScript(ENQUEUE_MESSAGE_LUA);

export interface SlackOutboxProducerOptions {
  /** A connection with `maxRetriesPerRequest: null` (lib/redis.ts). */
  connection: Redis;
  /** REDIS_PREFIX: the outbox's keys and its BullMQ queue live under it. */
  prefix: string;
  /** Where the queue's connection errors go (a Redis restart); without it they are dropped, since enqueue calls reject anyway. */
  logger?: Logger;
}

/**
 * Enqueues Slack writes; used by the bot (through its incident notifier) and by
 * the workers (runbook results). Returns once the write is safely in Redis;
 * the bot's consumer sends it when the channel's limits allow.
 */
export function createSlackOutboxProducer(options: SlackOutboxProducerOptions) {
  const { connection, prefix } = options;
  const keys = outboxKeys(prefix);
  const queue = new Queue<OutboxPumpJob>(SLACK_OUTBOX_QUEUE, { connection, prefix });
  // An 'error' without a listener is printed to the console (or thrown) by the emitter.
  queue.on('error', (err) => options.logger?.warn({ err }, 'slack outbox queue error'));
  // A failed pump frees its id so the next enqueue (or the consumer's sweep) starts a new one.
  const jobOptions = { removeOnComplete: true, removeOnFail: true, attempts: 5, backoff: { type: 'fixed', delay: 1000 } };

  /** Makes sure a pump runs for `channel`. A no-op when the current generation's pump exists. */
  async function kick(channel: string, generation: string | number, rank: number): Promise<void> {
    await queue.add('pump', { channel }, { ...jobOptions, jobId: pumpJobId(channel, generation), priority: Math.max(1, rank) });
  }

  function invalid(what: string, error: z.ZodError): ValidationError {
    return new ValidationError(`invalid outbox ${what}: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }

  async function enqueue(message: OutboxMessage, laneInput: string | undefined, channelInput: string, priority: OutboxPriority | undefined): Promise<string> {
    const lane = laneInput ?? `ch-${channelInput}`;
    const kind = /^INC-\d+$/.test(lane) ? 'incident' : 'plain';
    if (kind === 'incident') message.incidentId = lane;
    const [channel, generation, rank] = (await ENQUEUE_MESSAGE_LUA_SCRIPT.run(
      connection,
      0,
      keys.base,
      lane,
      channelInput,
      String(priorityRank(priority)),
      JSON.stringify(message),
      kind,
      message.id,
      String(SEEN_MESSAGE_TTL_S),
    )) as [string, string, number];
    await kick(channel, generation, rank);
    return message.id;
  }

  /** A reply in a thread (or a plain message when no thread is given). Returns the outbox message id. */
  async function reply(input: OutboxReplyInput): Promise<string> {
    // A long text is clipped (and says so), not refused: a runbook's output must not vanish.
    const parsed = OutboxReplyInputSchema.safeParse(typeof input?.text === 'string' ? { ...input, text: clipMessage(input.text) } : input);
    if (!parsed.success) throw invalid('message', parsed.error);
    const data = parsed.data;
    const message: OutboxMessage = {
      id: data.id ?? crypto.randomUUID(),
      text: data.text,
      ...(data.blocks ? { blocks: data.blocks } : {}),
      ...(data.threadTs ? { threadTs: data.threadTs } : {}),
      ...(data.editable ? { editable: true as const } : {}),
      enqueuedAt: Date.now(),
    };
    return enqueue(message, data.lane, data.channel, data.priority);
  }

  /**
   * Changes an editable message (chat.update at send time, in its lane's
   * order). The content is stored by version and read when the edit is sent,
   * so a burst of edits shows the newest; a stale version changes nothing.
   * Returns the edit's outbox id, or undefined when newer content was stored.
   */
  async function edit(input: OutboxEditInput): Promise<string | undefined> {
    const parsed = OutboxEditInputSchema.safeParse(input);
    if (!parsed.success) throw invalid('edit', parsed.error);
    const data = parsed.data;
    const content = JSON.stringify({ text: data.text, ...(data.blocks ? { blocks: data.blocks } : {}), version: data.version });
    const stored = await STORE_EDIT_LUA_SCRIPT.run(connection, 1, keys.edit(data.of), content, String(data.version), String(EDITABLE_TTL_S));
    if (Number(stored) !== 1) return undefined;
    const message: OutboxMessage = { id: `${data.of}.v${data.version}`, text: data.text, edit: { of: data.of }, enqueuedAt: Date.now() };
    return enqueue(message, data.lane, data.channel, undefined);
  }

  /**
   * A file shared into a channel or thread (files.getUploadURLExternal, the
   * bytes, files.completeUploadExternal), in its lane's order like a reply.
   * Over OUTBOX_FILE_MAX_BYTES is refused here, before anything is stored.
   * Returns the outbox message id.
   */
  async function upload(input: OutboxUploadInput): Promise<string> {
    const parsed = OutboxUploadInputSchema.safeParse(input);
    if (!parsed.success) throw invalid('upload', parsed.error);
    const data = parsed.data;
    const bytes = typeof data.content === 'string' ? Buffer.from(data.content, 'utf8') : data.content;
    if (bytes.length > OUTBOX_FILE_MAX_BYTES) {
      throw new ValidationError(`invalid outbox upload: content: ${bytes.length} bytes is over the ${OUTBOX_FILE_MAX_BYTES}-byte limit`);
    }
    const message: OutboxMessage = {
      id: data.id ?? crypto.randomUUID(),
      text: data.initialComment ?? '',
      file: { filename: data.filename, ...(data.title ? { title: data.title } : {}), size: bytes.length },
      ...(data.threadTs ? { threadTs: data.threadTs } : {}),
      enqueuedAt: Date.now(),
    };
    // A repeat of a queued (or sent) id stores nothing: the enqueue would skip it anyway.
    if (data.id && (await connection.exists(keys.seen(data.id)))) return data.id;
    // Bytes first: the pump may pick the message the moment it is queued. NX keeps the first bytes
    // when two callers race with one id; the enqueue then skips the second.
    await connection.set(keys.file(message.id), bytes, 'EX', SEEN_MESSAGE_TTL_S, 'NX');
    return enqueue(message, data.lane, data.channel, data.priority);
  }

  async function close(): Promise<void> {
    await queue.close();
  }

  return { reply, upload, edit, kick, close, keys, queue };
}

export type SlackOutboxProducer = ReturnType<typeof createSlackOutboxProducer>;
