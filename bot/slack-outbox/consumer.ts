import crypto from 'node:crypto';
import { PROMPT_TAKEOVER } from '../../lib/worker-takeover';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { OutboxPumpJobSchema, SLACK_OUTBOX_QUEUE, type SlackOutboxProducer } from '../../lib/slack-outbox';
import type { SlackOutboxConfig } from './config';
import type { OutboxMetrics } from './metrics';
import { CHANNELS_WITH_WORK_LUA, COMMIT_LUA, PICK_LUA } from './scripts';
import type { OutboxSender, PickedWrite, WriteOutcome } from './sender';

export interface OutboxConsumerDeps {
  connection: Redis;
  prefix: string;
  config: SlackOutboxConfig;
  producer: SlackOutboxProducer;
  sender: OutboxSender;
  logger: Logger;
  metrics: OutboxMetrics;
}

/** Replies a digest thread may take in one post. */
const REPLY_BATCH = 20;

type Pick = { type: 'empty' } | { type: 'wait'; ms: number } | ({ type: 'op' } & PickedWrite);

/**
 * Runs the pump jobs of the outbox queue. A pump drains one channel: it picks
 * the next write (Lua, which also takes the rate-limit slot), sends it, records
 * the outcome, and when nothing may go yet it parks itself as a delayed job
 * until the earliest moment something can. Any replica may run any pump; the
 * limits live in Redis, so they hold across replicas.
 */
export function createOutboxConsumer(deps: OutboxConsumerDeps) {
  const { connection, config, producer, sender, logger } = deps;
  const base = producer.keys.base;
  // Names this replica in root-post claims (diagnostics only; the claim itself is what counts).
  const owner = crypto.randomUUID().slice(0, 8);
  let worker: Worker | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let closing = false;

  async function pick(channel: string): Promise<Pick> {
    const r = (await connection.eval(
      PICK_LUA,
      0,
      base,
      channel,
      config.postIntervalMs,
      config.updatesPerMinute,
      config.updateBurst,
      config.editIntervalMs,
      100,
      config.inFlightLeaseMs,
      owner,
      REPLY_BATCH,
    )) as string[];
    if (r[0] === 'empty') return { type: 'empty' };
    if (r[0] === 'wait') return { type: 'wait', ms: Number(r[1]) };
    const [, lane, kind, mode, op, messages, thread, since, prevClaim, digest] = r as string[];
    return {
      type: 'op',
      lane: lane!,
      kind: kind as PickedWrite['kind'],
      mode: mode!,
      op: op as PickedWrite['op'],
      messages: messages ? (JSON.parse(messages) as string[]) : [],
      thread: thread!,
      since: since ? Number(since) : undefined,
      prevClaim: prevClaim!,
      digest: digest!,
    };
  }

  async function commit(channel: string, w: PickedWrite, outcome: WriteOutcome): Promise<void> {
    await connection.eval(
      COMMIT_LUA,
      0,
      base,
      channel,
      w.lane,
      w.op,
      outcome.result,
      w.messages[0] ?? '',
      outcome.result === 'ok' ? (outcome.ts ?? '') : '',
      outcome.result === 'ratelimited' ? outcome.retryAfterMs : 0,
      config.retryBaseMs,
      config.retryMaxMs,
      outcome.result === 'retry' && outcome.keepClaim ? '1' : '0',
      // Replies sent (ok) or refused for good (drop) leave the list.
      outcome.result === 'ok' || outcome.result === 'drop' ? (outcome.consumed ?? 1) : 0,
    );
  }

  async function park(job: Job, token: string | undefined, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + Math.max(0, ms), token);
    throw new DelayedError();
  }

  async function pump(job: Job, token?: string): Promise<string> {
    const parsed = OutboxPumpJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid outbox pump job: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { channel } = parsed.data;
    for (let sent = 0; sent < config.maxOpsPerRun && !closing; sent += 1) {
      const next = await pick(channel);
      if (next.type === 'empty') return 'empty';
      // Sleep in Redis, not here: the job survives a restart and any replica may wake it.
      if (next.type === 'wait') return park(job, token, Math.min(next.ms, config.maxSleepMs));
      const outcome = await sender.perform(channel, next);
      await commit(channel, next, outcome);
      // Nothing leaves the outbox unsent without a trace.
      if (outcome.result === 'drop') {
        deps.metrics.droppedWrites.inc({ reason: outcome.reason });
        logger.warn({ channel, lane: next.lane, op: next.op, reason: outcome.reason, consumed: outcome.consumed ?? 1 }, 'slack outbox dropped a write');
      }
      if (outcome.result === 'ratelimited') {
        logger.warn({ channel, op: next.op, retryAfterMs: outcome.retryAfterMs }, 'Slack rate limited the outbox; holding for Retry-After');
      }
    }
    // Yield the worker slot to other channels' pumps; this one continues right away.
    return park(job, token, 0);
  }

  /** Makes sure every channel with work has a pump (after a crash, a failed pump, a Redis restart). */
  async function sweep(): Promise<number> {
    const r = (await connection.eval(CHANNELS_WITH_WORK_LUA, 0, base)) as Array<string | number>;
    for (let i = 0; i < r.length; i += 3) await producer.kick(String(r[i]), String(r[i + 1]), Number(r[i + 2]));
    return r.length / 3;
  }

  async function start(): Promise<void> {
    if (worker) return;
    closing = false;
    worker = new Worker(SLACK_OUTBOX_QUEUE, pump, {
      connection,
      prefix: deps.prefix,
      concurrency: config.concurrency,
      // A dead bot's pump is taken over within seconds, not after a minute of no writes in its channel. A pump
      // that runs twice is safe: each write leases its lane in the pick script, so two runs never send it twice.
      ...PROMPT_TAKEOVER,
    });
    worker.on('error', (err) => logger.error({ err }, 'slack outbox worker error'));
    worker.on('failed', (job, err) => logger.error({ err, jobId: job?.id }, 'slack outbox pump failed'));
    const channels = await sweep();
    if (channels) logger.info({ channels }, 'slack outbox: resuming channels with queued writes');
    sweepTimer = setInterval(() => void sweep().catch((err) => logger.warn({ err }, 'slack outbox sweep failed')), config.sweepIntervalMs);
    sweepTimer.unref();
  }

  /** Stops taking pumps; a pump in progress finishes its current write and parks. Queued writes stay in Redis. */
  async function close(): Promise<void> {
    closing = true;
    if (sweepTimer) clearInterval(sweepTimer);
    sweepTimer = undefined;
    await worker?.close();
    worker = undefined;
  }

  return { start, close, sweep };
}

export type OutboxConsumer = ReturnType<typeof createOutboxConsumer>;
