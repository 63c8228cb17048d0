import crypto from 'node:crypto';
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Queue } from 'bullmq';
import { RunbookActionJobSchema, type RunbookActionJob, type RunbookActionName } from '../../lib/contracts';
import type { Logger } from '../../lib/logger';
import type { IncidentStore } from '../incidents/incident-store';
import type { IncidentNotifier } from '../incidents/incident-notifier';
import { ActionId } from '../incidents/incident-message';
import type { BotMetrics } from '../metrics';
import { mayRunAction } from '../../lib/ops-config-rbac';
import type { OpsConfig } from '../../lib/ops-config';
import { ephemeral, type OpsVerb } from '../commands/types';

export interface RunbookActionsOptions {
  store: IncidentStore;
  notifier: IncidentNotifier;
  queue: Queue<RunbookActionJob>;
  logger: Logger;
  metrics: BotMetrics;
  config: OpsConfig;
}

const BUTTONS: Array<{ actionId: string; action: RunbookActionName; label: string }> = [
  { actionId: ActionId.HealthCheck, action: 'health_check', label: 'health check' },
];

/**
 * Enqueues a runbook action for an incident and says so in its thread. The
 * listener only parses and hands over; the worker does the work.
 */
export function createRunbookActions(options: RunbookActionsOptions) {
  const { store, notifier, queue, logger, metrics } = options;

  async function request(incidentId: string, action: RunbookActionName, userId: string, params: Record<string, unknown> = {}) {
    const incident = await store.get(incidentId);
    if (!incident?.rootTs || !incident.channel) return { ok: false as const, message: `${incidentId} has no Slack thread yet` };
    const job = RunbookActionJobSchema.parse({
      action,
      incidentId,
      requestId: crypto.randomUUID(),
      requestedBy: userId,
      reply: { channel: incident.channel, threadTs: incident.rootTs },
      params,
      requestedAt: new Date().toISOString(),
      origin: 'button',
    });
    const jobId = job.requestId;
    await queue.add(action, job, { jobId });
    metrics.actionsRequested.inc({ action });
    await store.appendTimeline(incidentId, { type: 'action_requested', action, by: userId, jobId });
    await notifier.postReply(incident, `⏳ <@${userId}> asked for a ${action.replace(/_/g, ' ')} (job \`${jobId}\`).`);
    return { ok: true as const, jobId };
  }

  function register(app: App): void {
    for (const button of BUTTONS) {
      app.action<BlockAction<ButtonAction>>(button.actionId, async ({ ack, body, action, respond }) => {
        await ack();
        const incidentId = action.value ?? '';
        if (!/^INC-\d+$/.test(incidentId)) {
          await respond({ response_type: 'ephemeral', replace_original: false, text: `That button carries no incident id.` });
          return;
        }
        if (!mayRunAction(options.config, { id: body.user.id, name: body.user.username ?? body.user.name }, button.action)) {
          await respond({ response_type: 'ephemeral', replace_original: false, text: `⛔ You may not run the ${button.label}.` });
          return;
        }
        try {
          const result = await request(incidentId, button.action, body.user.id);
          if (!result.ok) await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
        } catch (err) {
          logger.error({ err, incidentId }, 'could not enqueue runbook action');
          await respond({ response_type: 'ephemeral', replace_original: false, text: `Could not start the ${button.label}: ${(err as Error).message}` });
        }
      });
    }
  }

  /** `/ops run <action> INC-42`: the same as the button, for people who type. */
  const runVerb: OpsVerb = {
    name: 'run',
    usage: `/ops run ${BUTTONS.map((b) => b.action).join('|')} INC-42`,
    summary: 'run a runbook action; the result lands in the thread',
    async run(ctx) {
      const [action, rawId] = ctx.args;
      const button = BUTTONS.find((b) => b.action === action);
      if (!button) return ephemeral(`Which action? \`${runVerb.usage}\``);
      const id = rawId?.toUpperCase() ?? '';
      if (!/^INC-\d+$/.test(id)) return ephemeral(`Name the incident: \`/ops run ${action} INC-42\``);
      if (!mayRunAction(ctx.config, { id: ctx.userId, name: ctx.userName }, button.action)) return ephemeral(`⛔ You may not run the ${button.label}.`);
      const result = await request(id, button.action, ctx.userId);
      return ephemeral(result.ok ? `⏳ ${button.label} for ${id} queued (job \`${result.jobId}\`).` : `⚠️ ${result.message}`);
    },
  };

  return { register, request, runVerb };
}
