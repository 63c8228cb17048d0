import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { ACTION_NAMES, type ActionName } from '../../lib/action-catalog';
import type { AuditLog } from '../../lib/audit-log';
import { ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { OpsConfig } from '../../lib/ops-config';
import { allowedActions, type SlackIdentity } from '../../lib/ops-config-rbac';
import type { Runbook } from '../../lib/runbook';
import { escapeMrkdwn } from '../../lib/slack-text';
import { ephemeral, type CommandReply, type OpsVerb } from '../commands/types';
import { ActionId } from '../incidents/incident-message';
import type { Incident, IncidentStore } from '../incidents/incident-store';
import { isOnOwnRoot } from '../incidents/root-control';
import { ACTION_USAGE, ActionArgsError, parseRunArgs } from './action-args';
import { FlowActionId } from './action-messages';
import { requestIdFrom } from './action-requests';
import type { ActionAnswer, ActionService } from './action-service';
import { RUNBOOK_BUTTON_PREFIX, runbookButtons, type RunbookButton } from './runbook-buttons';

export interface RunbookActionsOptions {
  service: ActionService;
  store: IncidentStore;
  runbooks: ReadonlyMap<string, Runbook>;
  audit: AuditLog;
  config: OpsConfig;
  logger: Logger;
}

/** The buttons an incident's root message shows: the health check (always) and its runbook's. */
export function incidentRunbookButtons(incident: Incident, runbooks: ReadonlyMap<string, Runbook>, config: OpsConfig): RunbookButton[] {
  const health: RunbookButton = { actionId: ActionId.HealthCheck, label: 'Health check', offered: 'health_check', action: 'health_check', params: { mode: 'full' } };
  return [health, ...runbookButtons(incident, runbooks.get(incident.labels.alertname ?? ''), config)];
}

/**
 * The Slack side of runbook actions: the runbook buttons of an incident's
 * root message, the Confirm / Cancel / Approve buttons, and `/ops run`.
 * Listeners parse, check where the click came from and hand over to the
 * action service; button values carry an incident or request id, never params.
 */
export function createRunbookActions(options: RunbookActionsOptions) {
  const { service, store, runbooks, config, logger, audit } = options;

  async function runbookQuery(incidentId: string): Promise<string | undefined> {
    const incident = await store.get(incidentId);
    return runbooks.get(incident?.labels.alertname ?? '')?.diagnostics.find((d) => d.promql)?.promql;
  }

  type Respond = (msg: { response_type?: 'ephemeral'; replace_original: boolean; text: string; blocks?: Array<Record<string, unknown>> }) => Promise<unknown>;
  const tell = (respond: Respond, answer: ActionAnswer, replace = false) =>
    respond({ response_type: 'ephemeral', replace_original: replace, text: answer.text, ...(answer.blocks ? { blocks: answer.blocks } : {}) });

  async function refuseClick(actor: string, message: string, detail: Record<string, unknown>): Promise<ActionAnswer> {
    await audit.append({ kind: 'refusal', actor, outcome: 'refused', message, detail });
    return { ok: false, text: message };
  }

  /** A runbook button in a root message: find the incident and the button again from the store, never from the value alone. */
  async function onRunbookButton(body: BlockAction<ButtonAction>, actionId: string, value: string): Promise<ActionAnswer> {
    const userId = body.user.id;
    const channelId = body.channel?.id ?? body.container?.channel_id ?? '';
    if (!/^INC-\d+$/.test(value)) return refuseClick(userId, 'That button carries no incident id. Nothing ran.', { actionId });
    const incident = await store.get(value);
    const messageTs = body.container?.message_ts ?? body.message?.ts;
    if (!incident || !isOnOwnRoot(incident, body)) {
      return refuseClick(userId, `⛔ That button does not belong to ${value}'s message. Nothing ran.`, { actionId, value, channel: channelId, messageTs });
    }
    const button = incidentRunbookButtons(incident, runbooks, config).find((b) => b.actionId === actionId);
    if (!button) return refuseClick(userId, `⚠️ ${incident.id}'s runbook offers no such action any more. Nothing ran.`, { actionId, incidentId: incident.id });
    if (button.usage || !button.params) {
      return { ok: true, text: `${button.label.replace(/…$/, '')} needs details only you can give. Type:\n\`${button.usage!.replace('[INC-42]', incident.id)}\`` };
    }
    return service.request({
      action: button.action,
      params: button.params,
      incidentId: incident.id,
      userId,
      channelId,
      origin: 'button',
      guarded: button.guarded,
      requestId: requestIdFrom('btn', body.trigger_id, (body.actions[0] as ButtonAction).action_ts, actionId),
    });
  }

  function register(app: App): void {
    app.action<BlockAction<ButtonAction>>(new RegExp(`^${RUNBOOK_BUTTON_PREFIX}`), async ({ ack, body, action, respond }) => {
      await ack();
      try {
        await tell(respond, await onRunbookButton(body, action.action_id, action.value ?? ''));
      } catch (err) {
        logger.error({ err, actionId: action.action_id }, 'runbook button failed');
        await respond({ response_type: 'ephemeral', replace_original: false, text: `⚠️ Could not start it: ${(err as Error).message}` });
      }
    });
    const flow: Array<[string, (id: string, user: string, channel: string) => Promise<ActionAnswer>, boolean]> = [
      [FlowActionId.Confirm, service.confirm, true],
      [FlowActionId.Cancel, service.cancel, true],
      [FlowActionId.Approve, service.approve, false],
    ];
    for (const [actionId, run, replace] of flow) {
      app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond }) => {
        await ack();
        const channelId = body.channel?.id ?? body.container?.channel_id ?? '';
        try {
          const answer = await run(action.value ?? '', body.user.id, channelId);
          // A used prompt is replaced by its outcome, so it cannot be clicked twice; a refusal leaves it.
          await tell(respond, answer, replace && answer.ok);
        } catch (err) {
          logger.error({ err, actionId }, 'action flow button failed');
          await respond({ response_type: 'ephemeral', replace_original: false, text: `⚠️ That did not work: ${(err as Error).message}` });
        }
      });
    }
  }

  const reply = (answer: ActionAnswer): CommandReply => ({ ...ephemeral(answer.text), ...(answer.blocks ? { blocks: answer.blocks } : {}) });

  /** `/ops run <action> [args] [INC-n]`: every catalog action, parsed strictly; a bad word gets the usage line and nothing runs. */
  const runVerb: OpsVerb = {
    name: 'run',
    usage: '/ops run <action> [args] [INC-42]',
    summary: 'run a runbook action; the result lands in the thread (or this channel)',
    details: (who: SlackIdentity) => allowedActions(config, who, ACTION_NAMES).map((a) => `\`${ACTION_USAGE[a as ActionName]}\``),
    async run(ctx) {
      let parsed;
      try {
        parsed = await parseRunArgs(ctx.args, { config, runbookQuery });
      } catch (err) {
        if (!(err instanceof ActionArgsError)) throw err;
        await audit.append({
          kind: 'refusal',
          actor: ctx.userId,
          ...(err.action ? { action: err.action } : {}),
          outcome: 'refused',
          message: `bad arguments: ${err.reason}`.slice(0, 4000),
          detail: { text: ctx.text.slice(0, 500), channel: ctx.channelId },
        });
        return ephemeral(`❌ ${ErrorCode.ValidationFailed}: ${escapeMrkdwn(err.reason)}. Nothing ran.\nUsage: \`${err.usage}\``);
      }
      const answer = await service.request({
        ...parsed,
        userId: ctx.userId,
        identity: ctx.identity,
        channelId: ctx.channelId,
        origin: 'command',
        requestId: requestIdFrom('cmd', ctx.triggerId, ctx.userId),
      });
      return reply(answer);
    },
  };

  return { register, runVerb };
}
