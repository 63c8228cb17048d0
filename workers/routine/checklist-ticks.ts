import { renderChecklist, type Checklist } from '../../lib/routine-checklist';
import { routineDay, type RoutineContext } from './context';

/** Shows a checklist's current state in its message (an outbox edit, newest version wins). */
export async function refreshChecklist(ctx: RoutineContext, checklist: Checklist): Promise<void> {
  const { text, blocks } = renderChecklist(checklist, ctx.config.routine.timezone);
  await ctx.slack.edit({ of: checklist.messageId, channel: checklist.channel, text, blocks, version: checklist.version });
}

/**
 * An automatic check of today's daily checklist passed (a verified backup, a
 * healthy server, ...): its item ticks itself, and the message shows it.
 */
export async function autoTick(ctx: RoutineContext, item: string, note: string): Promise<boolean> {
  const checklist = await ctx.checklists.daily(routineDay(ctx));
  if (!checklist || checklist.ticks[item]) return false;
  const ticked = await ctx.checklists.tick(checklist.id, item, 'auto', note);
  if (!ticked) return false;
  await refreshChecklist(ctx, ticked);
  return true;
}
