import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueName, RunbookActionJobSchema, type RunbookActionJob, type RunbookActionName, type RunbookActionResult } from '../lib/contracts';
import type { Logger } from '../lib/logger';
import type { SlackOutboxProducer } from '../lib/slack-outbox';
import type { McpClient } from '../lib/mcp-client';
import { runHealthCheck } from './handlers/health-check';
import type { ActionOutcome } from './handlers/types';
import type { WorkerMetrics } from './metrics';

export interface RunbookWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  mcp: McpClient;
  /** Thread replies go through the bot's Slack outbox (its limits and per-incident order). */
  slack: Pick<SlackOutboxProducer, 'reply'>;
  logger: Logger;
  metrics: WorkerMetrics;
}

type Handler = (job: RunbookActionJob, deps: { mcp: McpClient }) => Promise<ActionOutcome>;

/** One handler per runbook action; the contract's enum keeps this map complete. */
const HANDLERS: Partial<Record<RunbookActionName, Handler>> = {
  health_check: runHealthCheck,
};

function replyText(outcome: ActionOutcome): string {
  if (!outcome.detail) return outcome.summary;
  // Slack's text limit is 40k; keep replies readable and well under it.
  const detail = outcome.detail.length > 3500 ? `${outcome.detail.slice(0, 3500)}\n…` : outcome.detail;
  return `${outcome.summary}\n\`\`\`${detail}\`\`\``;
}

/**
 * Consumes the runbook-actions queue. A payload that does not parse is a bug
 * upstream and fails at once (UnrecoverableError); a failed call is retried by
 * BullMQ and reported in the thread only when the last attempt fails.
 */
export function createRunbookWorker(options: RunbookWorkerOptions) {
  const { slack, logger, metrics } = options;

  /** Queues the reply in the incident's outbox lane, behind anything the bot queued for it. */
  async function post(job: RunbookActionJob, text: string): Promise<string> {
    return slack.reply({ lane: job.incidentId, channel: job.reply.channel, threadTs: job.reply.threadTs, text });
  }

  async function process(job: Job<unknown>): Promise<RunbookActionResult> {
    const parsed = RunbookActionJobSchema.safeParse(job.data);
    if (!parsed.success) {
      metrics.jobs.inc({ action: String(job.name), outcome: 'invalid' });
      throw new UnrecoverableError(`invalid runbook job payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const data = parsed.data;
    const stop = metrics.duration.startTimer({ action: data.action });
    try {
      const handler = HANDLERS[data.action];
      if (!handler) throw new UnrecoverableError(`this worker has no handler for ${data.action}`);
      const outcome = await handler(data, { mcp: options.mcp });
      await post(data, replyText(outcome));
      metrics.jobs.inc({ action: data.action, outcome: outcome.ok ? 'success' : 'failure' });
      return { ok: outcome.ok, summary: outcome.summary };
    } finally {
      stop();
    }
  }

  const worker = new Worker(QueueName.RunbookActions, process, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
  });

  worker.on('failed', (job, err) => {
    if (!job) return;
    const parsed = RunbookActionJobSchema.safeParse(job.data);
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.error({ err, jobId: job.id, attempts: job.attemptsMade, final }, 'runbook job failed');
    if (!final || !parsed.success) return;
    metrics.jobs.inc({ action: parsed.data.action, outcome: 'error' });
    void post(parsed.data, `❌ ${parsed.data.action.replace(/_/g, ' ')} for ${parsed.data.incidentId} failed after ${job.attemptsMade} attempt(s): ${err.message}`).catch(
      (postErr) => logger.error({ err: postErr }, 'could not report job failure to Slack'),
    );
  });
  worker.on('error', (err) => logger.error({ err }, 'runbook worker error'));

  return worker;
}
