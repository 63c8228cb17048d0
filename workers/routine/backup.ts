import { z } from 'zod';
import { parseDuration } from '../../lib/duration';
import { escapeMrkdwn } from '../../lib/slack-text';
import { callTool, context, formatWhen, header, postReport, section, type RoutineContext } from './context';
import { autoTick } from './checklist-ticks';

/**
 * The guide's daily configuration backup, through the MCP server:
 * ops_backup_create, then ops_backup_verify of what it made. The outcome is
 * kept in Redis (the morning report and the checklist read it). A failure, or
 * no verified backup within `routine.backup.max_age`, opens a BackupFailed
 * incident through the bot's webhook; the next good backup resolves it.
 */
const LastBackupSchema = z.object({
  ok: z.boolean(),
  name: z.string().optional(),
  at: z.string(),
  problems: z.array(z.string()),
  fileCount: z.number().optional(),
  archiveBytes: z.number().optional(),
});
export type LastBackup = z.infer<typeof LastBackupSchema>;

const lastKey = (ctx: RoutineContext) => `${ctx.prefix}:routine:backup:last`;
const lastGoodKey = (ctx: RoutineContext) => `${ctx.prefix}:routine:backup:last-good`;
const firingKey = (ctx: RoutineContext) => `${ctx.prefix}:routine:backup:firing-since`;

export async function lastBackup(ctx: RoutineContext, which: 'last' | 'last-good' = 'last'): Promise<LastBackup | undefined> {
  const raw = await ctx.redis.get(which === 'last' ? lastKey(ctx) : lastGoodKey(ctx));
  if (!raw) return undefined;
  const parsed = LastBackupSchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : undefined;
}

/** The newest verified backup is younger than max_age. */
export async function backupIsFresh(ctx: RoutineContext): Promise<{ fresh: boolean; last?: LastBackup }> {
  const last = await lastBackup(ctx, 'last-good');
  const fresh = last !== undefined && ctx.now().getTime() - Date.parse(last.at) <= parseDuration(ctx.config.routine.backup.max_age);
  return { fresh, last };
}

const ALERT = { alertname: 'BackupFailed', severity: 'warning' };

async function openIncident(ctx: RoutineContext, reason: string): Promise<string> {
  // One episode from the first failure until a good backup: repeats keep startsAt.
  await ctx.redis.set(firingKey(ctx), ctx.now().toISOString(), 'NX');
  const since = new Date((await ctx.redis.get(firingKey(ctx))) ?? ctx.now().toISOString());
  try {
    const id = await ctx.incidents.fire({
      ...ALERT,
      summary: 'The daily configuration backup failed or is missing',
      description: reason,
      startsAt: since,
    });
    return id ? `Incident ${id} opened.` : 'Incident opened.';
  } catch (err) {
    ctx.logger.error({ err }, 'could not open the BackupFailed incident');
    return `⚠️ Could not open an incident: ${escapeMrkdwn((err as Error).message)}`;
  }
}

async function resolveIncident(ctx: RoutineContext): Promise<string | undefined> {
  const since = await ctx.redis.get(firingKey(ctx));
  if (!since) return undefined;
  try {
    const id = await ctx.incidents.resolve({ ...ALERT, summary: 'The daily configuration backup succeeded again', description: 'A verified backup was made.', startsAt: new Date(since) });
    await ctx.redis.del(firingKey(ctx));
    return `Incident ${id ?? ''} resolved.`.replace('  ', ' ');
  } catch (err) {
    ctx.logger.error({ err }, 'could not resolve the BackupFailed incident');
    return undefined;
  }
}

/** Creates and verifies a backup. Never throws for a failed backup: that is what the incident is for. */
export async function runBackup(ctx: RoutineContext): Promise<LastBackup> {
  const at = ctx.now().toISOString();
  let result: LastBackup;
  try {
    const created = await callTool(ctx, 'ops_backup_create');
    const name = String(created.structuredContent?.name ?? '');
    const verified = await callTool(ctx, 'ops_backup_verify', { name });
    const v = verified.structuredContent as { ok?: boolean; problems?: string[]; fileCount?: number } | undefined;
    result = { ok: v?.ok === true, name, at, problems: v?.problems ?? [], fileCount: v?.fileCount, archiveBytes: Number(created.structuredContent?.archiveBytes ?? 0) };
  } catch (err) {
    result = { ok: false, at, problems: [(err as Error).message] };
  }
  await ctx.redis.set(lastKey(ctx), JSON.stringify(result));
  if (result.ok) await ctx.redis.set(lastGoodKey(ctx), JSON.stringify(result));
  return result;
}

/** The scheduled job: back up, verify, tell the report channel, open or resolve the incident. */
export async function backupJob(ctx: RoutineContext): Promise<string> {
  const result = await runBackup(ctx);
  let incident: string | undefined;
  if (result.ok) {
    incident = await resolveIncident(ctx);
    await autoTick(ctx, 'backup', `${result.name} verified`);
  } else {
    incident = await openIncident(ctx, `Backup ${result.name ?? '(not created)'} failed: ${result.problems.join('; ')}`.slice(0, 1000));
  }
  const title = result.ok ? `💾 Configuration backup ${result.name} verified` : '❌ Configuration backup FAILED';
  const lines = result.ok
    ? [`*${escapeMrkdwn(result.name ?? '')}*: ${result.fileCount ?? 0} files, ${result.archiveBytes ?? 0} bytes, every file matches its manifest.`]
    : [`Problems:\n${result.problems.map((p) => `• ${escapeMrkdwn(p)}`).join('\n')}`];
  if (incident) lines.push(incident);
  await postReport(ctx, title, [header(title), section(lines.join('\n')), context(`ops_backup_create + ops_backup_verify · ${formatWhen(ctx, new Date(result.at))}`)]);
  return result.ok ? 'ok' : 'failed';
}

/** For the morning report: no verified backup within max_age opens the incident too (a run that never happened). */
export async function checkBackupFresh(ctx: RoutineContext): Promise<{ line: string; fresh: boolean }> {
  const { fresh, last } = await backupIsFresh(ctx);
  const latest = await lastBackup(ctx);
  if (fresh && last) {
    const failedSince = latest && !latest.ok ? ` (the latest run at ${formatWhen(ctx, new Date(latest.at))} failed)` : '';
    return { fresh, line: `✅ last verified backup *${escapeMrkdwn(last.name ?? '')}* at ${formatWhen(ctx, new Date(last.at))}${failedSince}` };
  }
  const reason = last
    ? `No verified backup within ${ctx.config.routine.backup.max_age}: the last was ${last.name} at ${last.at}.`
    : `No verified backup on record (routine.backup.max_age ${ctx.config.routine.backup.max_age}).`;
  const incident = await openIncident(ctx, reason);
  return { fresh, line: `❌ ${escapeMrkdwn(reason)} ${incident}` };
}
