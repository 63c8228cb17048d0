import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { isCodedError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { mayRunCommand } from '../../lib/ops-config-rbac';
import type { OpsConfig } from '../../lib/ops-config';
import { CHECKLIST_TICK_ACTION, ChecklistTickValueSchema, renderChecklist, type ChecklistStore } from '../../lib/routine-checklist';
import type { SlackOutboxProducer } from '../../lib/slack-outbox';

export interface ChecklistButtonsOptions {
  checklists: ChecklistStore;
  outbox: Pick<SlackOutboxProducer, 'edit'>;
  config: OpsConfig;
  logger: Logger;
}

/**
 * The Tick buttons of the routine's checklists (posted by the workers). A
 * person who may run `/ops report` ticks an item; the store records their
 * Slack user id and the time, and the message is edited through the outbox.
 */
export function registerChecklistButtons(app: App, options: ChecklistButtonsOptions): void {
  const { checklists, outbox, config, logger } = options;
  app.action<BlockAction<ButtonAction>>(new RegExp(`^${CHECKLIST_TICK_ACTION}-`), async ({ ack, body, action, respond }) => {
    await ack();
    const say = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    const value = ChecklistTickValueSchema.safeParse(action.value ?? '');
    if (!value.success) return void (await say('That button carries no checklist item.'));
    const who = { id: body.user.id, name: body.user.username ?? body.user.name ?? body.user.id };
    if (!mayRunCommand(config, who, 'report')) return void (await say('⛔ You may not tick routine checklists. `/ops help` lists what you can run.'));
    try {
      const ticked = await checklists.tick(value.data.id, value.data.key, body.user.id);
      if (!ticked) return void (await say('Already ticked.'));
      const { text, blocks } = renderChecklist(ticked, config.routine.timezone);
      await outbox.edit({ of: ticked.messageId, channel: ticked.channel, text, blocks, version: ticked.version });
    } catch (err) {
      if (isCodedError(err)) return void (await say(`⚠️ ${err.message} (${err.code})`));
      logger.error({ err, value: action.value }, 'checklist tick failed');
      await say(`⚠️ Could not tick: ${(err as Error).message}`);
    }
  });
}
