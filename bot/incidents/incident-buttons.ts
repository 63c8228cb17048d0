import type { App, BlockAction, ButtonAction, StaticSelectAction } from '@slack/bolt';
import { isCodedError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { AccessControl } from '../access/access-control';
import type { OpsConfig } from '../../lib/ops-config';
import { ActionId } from './incident-message';
import type { Incident, IncidentStore, Priority } from './incident-store';
import { isOnOwnRoot } from './root-control';
import type { Actor, IncidentService } from './incident-service';

export interface IncidentButtonsOptions {
  service: IncidentService;
  config: OpsConfig;
  logger: Logger;
  access: AccessControl;
  /** Where a click's incident is looked up, to check the control is on that incident's own root message. */
  store: Pick<IncidentStore, 'get'>;
  /** Called with every RBAC refusal (for the audit), and with a control that names another message's incident. */
  onRefused?: (refusal: { userId: string; incidentId: string; command: string; message: string }) => Promise<void>;
}

type Handler = (service: IncidentService, id: string, actor: Actor, arg: string) => Promise<Incident>;

/** Button (or select) → RBAC command name → service call. The value carries `INC-n` or `INC-n|arg`. */
const ROUTES: Array<{ actionId: string; command: string; run: Handler }> = [
  { actionId: ActionId.Acknowledge, command: 'ack', run: (s, id, a) => s.acknowledge(id, a) },
  { actionId: ActionId.Unacknowledge, command: 'unack', run: (s, id, a) => s.unacknowledge(id, a) },
  { actionId: ActionId.Resolve, command: 'resolve', run: (s, id, a) => s.resolve(id, a) },
  { actionId: ActionId.Snooze, command: 'snooze', run: (s, id, a, arg) => s.snooze(id, a, arg) },
  { actionId: ActionId.Unsnooze, command: 'unsnooze', run: (s, id, a) => s.unsnooze(id, a) },
  { actionId: ActionId.Reclassify, command: 'reclassify', run: (s, id, a, arg) => s.reclassify(id, a, arg as Priority) },
];

/** The buttons in an incident's root message. Listeners check and hand over; the service does the work. */
export function registerIncidentButtons(app: App, options: IncidentButtonsOptions): void {
  const { service, logger, access } = options;
  for (const route of ROUTES) {
    app.action<BlockAction<ButtonAction | StaticSelectAction>>(route.actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const say = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
      const raw = action.type === 'static_select' ? action.selected_option?.value : action.value;
      const [id = '', arg = ''] = (raw ?? '').split('|');
      if (!/^INC-\d+$/.test(id)) return void (await say('That control carries no incident id.'));
      const actor = { id: body.user.id, name: body.user.username ?? body.user.name ?? body.user.id };
      // The controls live on the incident's root message only: a value naming another incident is refused, never acted on.
      const incident = await options.store.get(id);
      if (incident && !isOnOwnRoot(incident, body)) {
        const message = `That control does not belong to ${id}'s message. Nothing changed.`;
        await options.onRefused?.({ userId: actor.id, incidentId: id, command: route.command, message }).catch((err) => logger.error({ err }, 'could not audit a refusal'));
        return void (await say(`⛔ ${message}`));
      }
      const verdict = access.command(await access.identify(actor.id), route.command);
      if (!verdict.ok) {
        await options.onRefused?.({ userId: actor.id, incidentId: id, command: route.command, message: verdict.message }).catch((err) => logger.error({ err }, 'could not audit a refusal'));
        return void (await say(`You may not ${route.command} incidents. ${verdict.message}`));
      }
      try {
        await route.run(service, id, actor, arg);
      } catch (err) {
        if (isCodedError(err)) return void (await say(`⚠️ ${err.message} (${err.code})`));
        logger.error({ err, incidentId: id, action: route.actionId }, 'incident action failed');
        await say(`⚠️ Could not ${route.command} ${id}: ${(err as Error).message}`);
      }
    });
  }
}
