import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../../lib/audit-log';
import { parseDuration } from '../../lib/duration';
import {
  REMEDIATION_UNDO_ACTION,
  RemediationUndoSchema,
  remediationKeys,
  RunbookActionJobSchema,
  type RemediationJob,
  type RunbookActionJob,
} from '../../lib/contracts';
import type { Logger } from '../../lib/logger';
import type { OpsConfig } from '../../lib/ops-config';
import { mayRunAction } from '../../lib/ops-config-rbac';
import type { Runbook } from '../../lib/runbook';
import type { Incident, IncidentStore } from '../incidents/incident-store';

export interface RemediationOptions {
  config: OpsConfig;
  runbooks: Map<string, Runbook>;
  store: IncidentStore;
  redis: Redis;
  prefix: string;
  /** Its default job options bound the attempts and keep finished jobs (bot/app.ts: the runbook queue's). */
  remediations: Queue<RemediationJob>;
  actions: Queue<RunbookActionJob>;
  resolveChannel: (name: string) => Promise<string>;
  audit: AuditLog;
  logger: Logger;
}

/**
 * Automatic remediation, bot side: when an incident opens and its runbook
 * declares a remediation, and the ops config has it on, one job per incident
 * goes to the workers (who enforce the hourly limit and act). The Undo button
 * the workers post runs `unblock_ip` as the person who clicked, after RBAC.
 */
export function createRemediation(options: RemediationOptions) {
  const { config, runbooks, store, redis, logger, audit } = options;
  const keys = remediationKeys(options.prefix);

  /** The open hook; never throws (a remediation must not make Alertmanager retry the delivery). */
  /** `known`: the incident as the caller just read it (saves a read). */
  async function opened(incidentId: string, known?: Incident): Promise<void> {
    if (!config.remediation.enabled) return;
    try {
      const incident = known?.id === incidentId ? known : await store.get(incidentId);
      const alertname = incident?.labels.alertname;
      const declared = alertname ? runbooks.get(alertname)?.remediation : undefined;
      if (!incident || !alertname || !declared) return;
      const requestId = `remed-${incidentId}`;
      await options.remediations.add(
        declared.kind,
        {
          kind: declared.kind,
          requestId,
          incidentId,
          alertname,
          channel: await options.resolveChannel(incident.route),
          ttlSeconds: Math.round(parseDuration(config.remediation.block_ttl) / 1000),
          maxPerHour: config.remediation.max_per_hour,
          requestedAt: new Date().toISOString(),
        },
        // Attempts, backoff and retention: the queue's defaults (the runbook jobs' RUNBOOK_JOB_ATTEMPTS / _BACKOFF_MS).
        { jobId: requestId },
      );
    } catch (err) {
      logger.error({ err, incidentId }, 'could not queue the automatic remediation');
    }
  }

  function register(app: App): void {
    app.action<BlockAction<ButtonAction>>(REMEDIATION_UNDO_ACTION, async ({ ack, body, action, respond }) => {
      await ack();
      const say = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
      const userId = body.user?.id;
      const requestId = action.value ?? '';
      if (!userId || !/^[A-Za-z0-9_.-]{8,128}$/.test(requestId)) return void (await say('That button carries no remediation id.'));
      if (!mayRunAction(config, { id: userId, name: body.user.username ?? body.user.name }, 'unblock_ip')) {
        await audit.append({ kind: 'refusal', actor: userId, action: 'unblock_ip', requestId, outcome: 'refused', message: 'Undo of an automatic remediation refused by RBAC' });
        return void (await say('⛔ Undoing a block needs a role that may run unblock_ip (responder or admin).'));
      }
      // GETDEL: the first Undo wins; a second click (or a second replica) finds nothing to undo.
      const raw = await redis.getdel(keys.undo(requestId));
      const undo = raw ? RemediationUndoSchema.safeParse(JSON.parse(raw)) : undefined;
      if (!undo?.success) return void (await say('Nothing to undo: the block has expired or was already undone.'));
      const u = undo.data;
      const job = RunbookActionJobSchema.parse({
        action: 'unblock_ip',
        requestId: `undo-${requestId}`,
        incidentId: u.incidentId,
        requestedBy: userId,
        reply: { channel: u.channel },
        params: { address: u.address },
        requestedAt: new Date().toISOString(),
        origin: 'button',
      });
      await options.actions.add('unblock_ip', job, { jobId: job.requestId });
      await audit.append({ kind: 'undo', actor: userId, action: 'unblock_ip', incidentId: u.incidentId, requestId: job.requestId, target: u.address, outcome: 'pending', message: `Undo of automatic remediation ${requestId}` });
      await say(`↩️ Unblocking ${u.address}; the result lands in the thread.`);
    });
  }

  return { opened, register };
}
