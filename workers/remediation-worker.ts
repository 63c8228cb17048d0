import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { PROMPT_TAKEOVER } from '../lib/worker-takeover';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../lib/audit-log';
import { QueueName, REMEDIATION_UNDO_ACTION, RemediationJobSchema, remediationKeys, type RemediationJob } from '../lib/contracts';
import { formatDuration } from '../lib/duration';
import type { Logger } from '../lib/logger';
import type { McpClient } from '../lib/mcp-client';
import type { SlackOutboxProducer } from '../lib/slack-outbox';
import { createActionJournal } from './actions/journal';
import type { WorkerMetrics } from './metrics';

export interface RemediationWorkerOptions {
  connection: Redis;
  prefix: string;
  mcp: McpClient;
  slack: Pick<SlackOutboxProducer, 'reply'>;
  audit: AuditLog;
  logger: Logger;
  metrics: WorkerMetrics;
}

/** The offender window: what "the top offending address" is measured over. */
const WINDOW_MINUTES = 15;

interface Offender {
  ip: string;
  total: number;
  blocked: boolean;
}

/**
 * Runs automatic remediations. `block_top_offender`: the address with the most
 * auth failures in the last 15 minutes (not already blocked) is blocked for the
 * configured TTL, at most `maxPerHour` times an hour per alert; the thread is
 * told, with an Undo button the bot handles. Every step is journaled (a crash
 * replays without blocking twice) and audited.
 */
export function createRemediationWorker(options: RemediationWorkerOptions) {
  const { connection, prefix, mcp, slack, audit, logger, metrics } = options;
  const keys = remediationKeys(prefix);

  async function say(job: RemediationJob, suffix: string, text: string, blocks?: Array<Record<string, unknown>>): Promise<void> {
    await slack.reply({ lane: job.incidentId, channel: job.channel, text, id: `${job.requestId}-${suffix}`, ...(blocks ? { blocks } : {}) });
  }

  async function record(job: RemediationJob, outcome: 'ok' | 'failed' | 'refused', message: string, detail?: Record<string, unknown>) {
    await audit.append({
      kind: 'remediation',
      actor: 'system:remediation',
      action: 'block_ip',
      incidentId: job.incidentId,
      requestId: job.requestId,
      outcome,
      message,
      ...(detail ? { detail } : {}),
    });
  }

  async function process(raw: Job<unknown>): Promise<void> {
    const parsed = RemediationJobSchema.safeParse(raw.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid remediation job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const job = parsed.data;
    const journal = createActionJournal(connection, prefix, job.requestId);

    // The hourly limit, counted once per job (a replay does not count twice).
    const hour = Math.floor(Date.parse(job.requestedAt) / 3_600_000);
    const count = await journal.once('count', async () => {
      const key = keys.count(job.alertname, hour);
      const [[, n]] = (await connection.multi().incr(key).expire(key, 7200).exec()) as [[null, number]];
      return n;
    });
    if (count > job.maxPerHour) {
      const message = `🤖 Automatic remediation for ${job.incidentId} skipped: ${job.alertname} already ran it ${job.maxPerHour} time(s) this hour (remediation.max_per_hour). Block by hand with \`/ops run block_ip\` if needed.`;
      await journal.once('refused', () => record(job, 'refused', message).then(() => true));
      await say(job, 'result', message);
      metrics.jobs.inc({ action: 'remediation', outcome: 'failure' });
      return;
    }

    const offender = await journal.once('report', async () => {
      const report = await mcp.callTool('ops_security_report', { windowMinutes: WINDOW_MINUTES, top: 20 });
      if (report.isError) throw new Error(`security report failed: ${report.text.split('\n')[0]}`);
      const clients = ((report.structuredContent?.clients ?? []) as Offender[]).filter((c) => !c.blocked);
      return clients[0] ?? null;
    });
    if (!offender) {
      const message = `🤖 Automatic remediation for ${job.incidentId}: no unblocked address with auth failures in the last ${WINDOW_MINUTES} minutes, nothing blocked.`;
      await journal.once('nothing', () => record(job, 'ok', message).then(() => true));
      await say(job, 'result', message);
      metrics.jobs.inc({ action: 'remediation', outcome: 'success' });
      return;
    }

    const reason = `automatic remediation for ${job.incidentId} (${job.alertname}): ${offender.total} auth failures in ${WINDOW_MINUTES} min`;
    const blocked = await journal.once('block', () => mcp.callTool('ops_block_ip', { ip: offender.ip, ttlSeconds: job.ttlSeconds, reason }));
    if (blocked.isError) {
      const message = `🤖 Automatic remediation for ${job.incidentId} could not block ${offender.ip}: ${blocked.text.split('\n')[0]}`;
      await journal.once('failed', () => record(job, 'failed', message, { address: offender.ip }).then(() => true));
      await say(job, 'result', message);
      metrics.jobs.inc({ action: 'remediation', outcome: 'failure' });
      return;
    }
    await connection.set(keys.undo(job.requestId), JSON.stringify({ requestId: job.requestId, incidentId: job.incidentId, address: offender.ip, channel: job.channel }), 'EX', job.ttlSeconds);
    const message = `🤖 Automatic remediation: blocked ${offender.ip} for ${formatDuration(job.ttlSeconds * 1000)} (${offender.total} auth failures in the last ${WINDOW_MINUTES} min). Undo lifts the block.`;
    await journal.once('done', () => record(job, 'ok', message, { address: offender.ip, ttlSeconds: job.ttlSeconds }).then(() => true));
    await say(job, 'result', message, [
      { type: 'section', text: { type: 'mrkdwn', text: message } },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: REMEDIATION_UNDO_ACTION,
            text: { type: 'plain_text', text: `Undo: unblock ${offender.ip}` },
            value: job.requestId,
            confirm: {
              title: { type: 'plain_text', text: 'Lift the block?' },
              text: { type: 'plain_text', text: `${offender.ip} can reach the MCP server again.` },
              confirm: { type: 'plain_text', text: 'Unblock' },
              deny: { type: 'plain_text', text: 'Keep it' },
            },
          },
        ],
      },
    ]);
    metrics.jobs.inc({ action: 'remediation', outcome: 'success' });
  }

  const worker = new Worker(QueueName.Remediations, process, { connection, prefix, concurrency: 2, ...PROMPT_TAKEOVER });
  worker.on('failed', (job, err) => logger.error({ err, jobId: job?.id }, 'remediation job failed'));
  worker.on('error', (err) => logger.error({ err }, 'remediation worker error'));
  return worker;
}
