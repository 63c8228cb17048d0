import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { PROMPT_TAKEOVER } from '../lib/worker-takeover';
import type { Redis } from 'ioredis';
import type { ActionName } from '../lib/action-catalog';
import type { SilenceClient } from '../lib/alertmanager-silences';
import type { AuditLog } from '../lib/audit-log';
import { QueueName, runbookJobOptions, RunbookActionJobSchema, type RunbookActionJob, type RunbookActionResult } from '../lib/contracts';
import type { Logger } from '../lib/logger';
import type { McpClient } from '../lib/mcp-client';
import type { SlackOutboxProducer } from '../lib/slack-outbox';
import { escapeMrkdwn } from '../lib/slack-text';
import { createActionJournal } from './actions/journal';
import { holdActionLock, lockTarget, releaseActionLock } from './actions/lock';
import type { PlatformDriver } from './drivers/types';
import { runHealthCheck } from './handlers/health-check';
import { runDeploy, runRestart, runRollback, runScale } from './handlers/lifecycle';
import { createMaintenanceHandler } from './handlers/maintenance';
import {
  runBackup,
  runBlockIp,
  runCollectEvidence,
  runResetBreaker,
  runRestore,
  runListBlockedIps,
  runSecurityReport,
  runUnblockIp,
  runVerifyBackup,
} from './handlers/ops-tools';
import { runQueryPrometheus } from './handlers/query-prometheus';
import type { ActionHandler, ActionOutcome, HandlerDeps } from './handlers/types';
import type { WorkerMetrics } from './metrics';

export interface RunbookWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  mcp: McpClient;
  /** Thread replies go through the bot's Slack outbox (its limits and per-incident order). */
  slack: Pick<SlackOutboxProducer, 'reply'>;
  audit: AuditLog;
  logger: Logger;
  metrics: WorkerMetrics;
  driver?: PlatformDriver;
  silences?: SilenceClient;
  prometheusUrl?: string;
  /** Channel (name or id) for maintenance announcements: the ops config's alerts channel. */
  announceChannel?: string;
  /** Options of the jobs this worker queues (a window's end). @defaultValue runbookJobOptions() */
  jobOptions?: ReturnType<typeof runbookJobOptions>;
  /** While an action runs, its target lock is kept at least this far ahead (renewed every third of it). @defaultValue 5 min */
  lockHoldMs?: number;
}

/** Per-action time budget: lifecycle actions wait for rollouts, the rest are single calls. */
const TIME_BUDGET_MS: Partial<Record<ActionName, number>> = { restart: 300_000, deploy: 600_000, rollback: 600_000, scale: 300_000, collect_evidence: 120_000, backup: 120_000, restore: 120_000, maintenance: 120_000 };
const DEFAULT_BUDGET_MS = 60_000;

const human = (action: string) => action.replace(/_/g, ' ');

/** Keeps replies readable and well under Slack's limits; code blocks cannot be closed early by the content. */
export function replyText(outcome: ActionOutcome): string {
  const parts = [outcome.summary];
  if (outcome.body) parts.push(outcome.body);
  if (outcome.detail) {
    // Tool output and PromQL answers come from other systems: escaped, and unable to close the block early.
    const detail = escapeMrkdwn(outcome.detail.replace(/```/g, 'ˋˋˋ'));
    parts.push(`\`\`\`${detail.length > 3500 ? `${detail.slice(0, 3500)}\n…` : detail}\`\`\``);
  }
  return parts.join('\n');
}

/**
 * Consumes the runbook-actions queue: parses the job (an unparsable one fails
 * at once), runs the action's handler within its time budget, posts progress
 * and the result into the thread (stable outbox ids: `<requestId>-started`,
 * `-result`, `-failed`), records `started` and `result` in the audit log, and
 * releases the target lock the bot took.
 */
export function createRunbookWorker(options: RunbookWorkerOptions) {
  const { slack, logger, metrics, connection, prefix, audit } = options;
  const followUps = new Queue(QueueName.RunbookActions, { connection, prefix });
  followUps.on('error', (err) => logger.warn({ err }, 'runbook follow-up queue error'));

  const handlers: Record<ActionName, ActionHandler> = {
    health_check: runHealthCheck,
    query_prometheus: runQueryPrometheus,
    restart: runRestart,
    deploy: runDeploy,
    rollback: runRollback,
    scale: runScale,
    block_ip: runBlockIp,
    unblock_ip: runUnblockIp,
    backup: runBackup,
    verify_backup: runVerifyBackup,
    restore: runRestore,
    maintenance: createMaintenanceHandler({
      redis: connection,
      prefix,
      // The window's end: `maintenance off` from the same requester, queued once per request.
      async scheduleEnd(at, fromRequestId) {
        const endId = `${fromRequestId}-end`;
        const job: RunbookActionJob = {
          action: 'maintenance',
          requestId: endId,
          requestedBy: 'system:maintenance-window',
          reply: { channel: options.announceChannel ?? 'ops-alerts' },
          params: { mode: 'off', reason: 'the maintenance window ended' },
          requestedAt: at.toISOString(),
          origin: 'schedule',
        };
        await followUps.add('maintenance', job, { ...(options.jobOptions ?? runbookJobOptions()), jobId: endId, delay: Math.max(0, at.getTime() - Date.now()) });
      },
    }),
    reset_circuit_breaker: runResetBreaker,
    collect_evidence: runCollectEvidence,
    security_report: runSecurityReport,
    list_blocked_ips: runListBlockedIps,
  };

  async function post(job: RunbookActionJob, suffix: string, text: string, id = `${job.requestId}-${suffix}`): Promise<string> {
    return slack.reply({ lane: job.incidentId, channel: job.reply.channel, threadTs: job.reply.threadTs, text, id });
  }

  /** The result in the audit (once per request); then the target lock goes, unless another request holds it. */
  async function finish(job: RunbookActionJob, outcome: { ok: boolean; summary: string; audit?: Record<string, unknown>; refused?: boolean }): Promise<void> {
    const journal = createActionJournal(connection, prefix, job.requestId);
    await journal.once('audit-result', () =>
      audit.append({
        kind: 'result',
        actor: job.requestedBy,
        action: job.action,
        ...(job.incidentId ? { incidentId: job.incidentId } : {}),
        requestId: job.requestId,
        outcome: outcome.refused ? 'refused' : outcome.ok ? 'ok' : 'failed',
        message: outcome.summary.slice(0, 4000),
        ...(outcome.audit ? { detail: outcome.audit } : {}),
      }),
    );
    if (job.lock && !outcome.refused) await releaseActionLock(connection, job.lock);
  }

  async function process(job: Job<unknown>): Promise<RunbookActionResult> {
    const parsed = RunbookActionJobSchema.safeParse(job.data);
    if (!parsed.success) {
      metrics.jobs.inc({ action: String(job.name), outcome: 'invalid' });
      throw new UnrecoverableError(`invalid runbook job payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const data = parsed.data;
    // The target's lock first: held for as long as the action runs, or nothing runs (another request has it).
    const hold = data.lock ? await holdActionLock(connection, data.lock, options.lockHoldMs ?? 5 * 60_000, logger) : undefined;
    if (hold && !hold.ok) return refuse(data, hold.holder);
    if (hold?.retaken) logger.warn({ requestId: data.requestId, lock: data.lock!.key }, 'the target lock ran out while the job waited; nobody had taken it, so it was taken again');
    const journal = createActionJournal(connection, prefix, data.requestId);
    const stop = metrics.duration.startTimer({ action: data.action });
    const budget = AbortSignal.timeout(TIME_BUDGET_MS[data.action] ?? DEFAULT_BUDGET_MS);
    try {
      await journal.once('audit-started', () =>
        audit.append({ kind: 'started', actor: data.requestedBy, action: data.action, ...(data.incidentId ? { incidentId: data.incidentId } : {}), requestId: data.requestId, outcome: 'pending' }),
      );
      // Progress: only for actions that take a while; a health check's result is its own progress.
      if ((TIME_BUDGET_MS[data.action] ?? 0) > DEFAULT_BUDGET_MS) await post(data, 'started', `⏳ ${human(data.action)} is running…`);
      const deps: HandlerDeps = {
        mcp: options.mcp,
        journal,
        logger,
        signal: budget,
        ...(options.driver ? { driver: options.driver } : {}),
        ...(options.silences ? { silences: options.silences } : {}),
        ...(options.prometheusUrl ? { prometheusUrl: options.prometheusUrl } : {}),
        ...(options.announceChannel ? { announce: { channel: options.announceChannel, outbox: slack } } : {}),
      };
      const outcome = await withBudget(handlers[data.action](data, deps), budget, data.action);
      await post(data, 'result', replyText(outcome), outcome.replyId);
      await finish(data, outcome);
      metrics.jobs.inc({ action: data.action, outcome: outcome.skipped ? 'skipped' : outcome.ok ? 'success' : 'failure' });
      return { ok: outcome.ok, summary: outcome.summary };
    } finally {
      if (hold?.ok) hold.stop();
      stop();
    }
  }

  /**
   * The request's target lock ran out while it waited and another request holds it now: this one is not run
   * (two actions never touch one target at once), said in the thread and audited; the other's lock stays.
   */
  async function refuse(data: RunbookActionJob, holder: string | null): Promise<RunbookActionResult> {
    const target = lockTarget(data.lock!);
    const summary = `❌ ${human(data.action)} was not run: ${target} is locked by request \`${holder ?? 'unknown'}\` (this request's lock ran out while it waited in the queue). Ask again when that one is done.`;
    await post(data, 'result', summary);
    await finish(data, { ok: false, refused: true, summary, audit: { lockedBy: holder } });
    metrics.jobs.inc({ action: data.action, outcome: 'refused' });
    return { ok: false, summary };
  }

  const worker = new Worker(QueueName.RunbookActions, process, {
    connection,
    prefix,
    concurrency: options.concurrency,
    // A worker killed mid-action is taken over within seconds, not after a minute of silence in the thread; a
    // replay is safe because every target-touching step is journaled and every reply has a stable outbox id.
    ...PROMPT_TAKEOVER,
  });

  worker.on('failed', (job, err) => {
    if (!job) return;
    const parsed = RunbookActionJobSchema.safeParse(job.data);
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.error({ err, jobId: job.id, attempts: job.attemptsMade, final }, 'runbook job failed');
    if (!parsed.success) return;
    const data = parsed.data;
    if (!final) {
      // The first failed attempt says so in the thread (once: a stable outbox id), so nobody waits on silence.
      if (job.attemptsMade !== 1) return;
      const max = job.opts.attempts ?? 1;
      const backoff = job.opts.backoff;
      const delay = typeof backoff === 'number' ? backoff : (backoff?.delay ?? 0);
      const window = backoff && typeof backoff === 'object' && backoff.type === 'exponential' ? delay * (2 ** (max - 1) - 1) : delay * (max - 1);
      const text = `⏳ ${human(data.action)}${data.incidentId ? ` for ${data.incidentId}` : ''}: attempt 1 of ${max} failed (${err.message}); trying again for up to ${Math.max(1, Math.round(window / 1000))} s.`;
      void post(data, 'retrying', text).catch((postErr) => logger.error({ err: postErr }, 'could not report a retry'));
      return;
    }
    metrics.jobs.inc({ action: data.action, outcome: 'error' });
    const summary = `❌ ${human(data.action)}${data.incidentId ? ` for ${data.incidentId}` : ''} failed after ${job.attemptsMade} attempt(s): ${err.message}`;
    void post(data, 'failed', summary)
      .then(() => finish(data, { ok: false, summary }))
      .catch((postErr) => logger.error({ err: postErr }, 'could not report job failure'));
  });
  worker.on('error', (err) => logger.error({ err }, 'runbook worker error'));

  async function close(): Promise<void> {
    await worker.close();
    await followUps.close();
  }

  return Object.assign(worker, { closeAll: close });
}

async function withBudget<T>(work: Promise<T>, signal: AbortSignal, action: string): Promise<T> {
  if (signal.aborted) throw new Error(`${action} ran out of time`);
  return Promise.race([
    work,
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error(`${human(action)} did not finish within its time budget`)), { once: true })),
  ]);
}
