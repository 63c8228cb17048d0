import { CronExpressionParser } from 'cron-parser';
import type { Queue } from 'bullmq';
import type { RoutineJob } from '../../lib/contracts';
import { formatDuration, parseDuration } from '../../lib/duration';
import type { MaintenanceWindow } from '../../lib/ops-config-routine';
import { renderChecklist, type ChecklistKind } from '../../lib/routine-checklist';
import { escapeMrkdwn } from '../../lib/slack-text';
import { createActionJournal } from '../actions/journal';
import { beginHold, createMaintenanceHolders, describeHolders, endHold, keepSilences, windowHolderId, type Holder, type HoldFlow } from '../maintenance/holders';
import { backupIsFresh } from './backup';
import { callTool, context, formatWhen, header, postReport, reportChannel, section, settle, type RoutineContext } from './context';

/**
 * The guide's maintenance windows (weekly Sunday 02:00-04:00 UTC, monthly
 * first Sunday 02:00-06:00 UTC, or what routine.maintenance says). A planner
 * job (its own scheduler) lays out the next occurrences as delayed jobs whose
 * ids name the window and its start, so every replica plans the same jobs
 * and each runs once: announcements a day and an hour before (with the
 * pre-maintenance checklist), the start (the window's hold on maintenance,
 * the mode on through ops_set_maintenance, a real Alertmanager silence for the
 * window) and the end (its hold and silence end; the mode goes off unless
 * another holder, e.g. a `maintenance on`, still holds it; the
 * post-maintenance checklist).
 */
export interface WindowOccurrence {
  window: MaintenanceWindow;
  start: Date;
  end: Date;
}

/** Occurrences of every window from `now` (one already under way included) up to `horizonMs` ahead, at most `perWindow` each. */
export function occurrences(windows: MaintenanceWindow[], timezone: string, now: Date, horizonMs: number, perWindow = 3): WindowOccurrence[] {
  const all: WindowOccurrence[] = [];
  for (const window of windows) {
    const duration = parseDuration(window.duration);
    const it = CronExpressionParser.parse(window.cron, { tz: timezone, currentDate: new Date(now.getTime() - duration) });
    for (let i = 0; i < perWindow; i += 1) {
      const start = it.next().toDate();
      if (start.getTime() > now.getTime() + horizonMs) break;
      all.push({ window, start, end: new Date(start.getTime() + duration) });
    }
  }
  // A window inside a longer one that starts no later (weekly inside monthly) is merged into it.
  return all
    .filter((o) => !all.some((p) => p !== o && p.start <= o.start && p.end >= o.end && p.end.getTime() - p.start.getTime() > o.end.getTime() - o.start.getTime()))
    .sort((a, b) => a.start.getTime() - b.start.getTime());
}

const jobId = (o: WindowOccurrence, phase: string) => `mw-${o.window.name}-${o.start.getTime()}-${phase}`;
/** Phase jobs are kept this long after they ran, so planning the same window again adds nothing. */
const KEEP_S = 35 * 86_400;

/** Adds the phase jobs of the next occurrences; a job that exists already (planned, done) is left alone. */
export async function planMaintenance(ctx: RoutineContext, queue: Queue<RoutineJob>): Promise<string> {
  const m = ctx.config.routine.maintenance;
  const before = m.announce_before.map(parseDuration).sort((a, b) => b - a);
  const now = ctx.now();
  const horizon = (before[0] ?? 0) + 2 * 86_400_000;
  const planned = occurrences(m.windows, ctx.config.routine.timezone, now, horizon);
  const opts = { removeOnComplete: { age: KEEP_S }, removeOnFail: { age: KEEP_S }, attempts: 5, backoff: { type: 'exponential' as const, delay: 2000 } };
  for (const o of planned) {
    const data = { kind: 'maintenance' as const, window: o.window.name, startsAt: o.start.toISOString(), endsAt: o.end.toISOString() };
    const delay = (at: number) => Math.max(0, at - now.getTime());
    if (o.start > now) {
      for (const b of before) {
        // Late planning (a new config, a restart) still announces, at once.
        await queue.add('maintenance', { ...data, phase: 'announce', beforeMs: b }, { ...opts, jobId: jobId(o, `announce-${b}`), delay: delay(o.start.getTime() - b) });
      }
    }
    await queue.add('maintenance', { ...data, phase: 'start' }, { ...opts, jobId: jobId(o, 'start'), delay: delay(o.start.getTime()) });
    await queue.add('maintenance', { ...data, phase: 'end' }, { ...opts, jobId: jobId(o, 'end'), delay: delay(o.end.getTime()) });
  }
  return `${planned.length} window(s) planned`;
}

type Phase = Extract<RoutineJob, { kind: 'maintenance' }>;

function windowOf(ctx: RoutineContext, name: string): MaintenanceWindow | undefined {
  return ctx.config.routine.maintenance.windows.find((w) => w.name === name);
}

/** Outbox and checklist ids of one phase: a retried job finds what it posted before instead of posting again. */
const phaseId = (job: Phase, what: string) => `mw-${job.window}-${Date.parse(job.startsAt)}-${what}`;

async function postChecklist(ctx: RoutineContext, job: Phase, kind: ChecklistKind, title: string, ticks: Record<string, string>): Promise<void> {
  const channel = await reportChannel(ctx);
  let checklist = await ctx.checklists.create(kind, channel, { title, id: `ck-${phaseId(job, kind)}` });
  for (const [item, note] of Object.entries(ticks)) checklist = (await ctx.checklists.tick(checklist.id, item, 'auto', note)) ?? checklist;
  const { text, blocks } = renderChecklist(checklist, ctx.config.routine.timezone);
  await ctx.slack.reply({ id: checklist.messageId, channel, text, blocks, editable: true });
}

async function announce(ctx: RoutineContext, job: Phase, w: MaintenanceWindow | undefined): Promise<string> {
  const start = new Date(job.startsAt);
  const end = new Date(job.endsAt);
  const inText = formatDuration(Math.max(0, start.getTime() - ctx.now().getTime())) || 'now';
  const title = `📣 Maintenance window "${job.window}" starts in ${inText}`;
  const what = w?.description ? `\n${escapeMrkdwn(w.description)}` : '';
  await postReport(ctx, title, [
    header(title),
    section(`*${formatWhen(ctx, start)} → ${formatWhen(ctx, end)}*${what}\nMaintenance mode goes on at the start and alerts for \`service=${escapeMrkdwn(ctx.config.routine.maintenance.service)}\` are silenced until the end.`),
  ], phaseId(job, `announce-${job.beforeMs ?? 0}`));
  // The first (earliest) announcement brings the pre-maintenance checklist.
  const longest = Math.max(...ctx.config.routine.maintenance.announce_before.map(parseDuration));
  if (job.beforeMs === longest) {
    const ticks: Record<string, string> = { schedule: `scheduled by the ops config (${job.window})`, notify: 'announced in this channel' };
    const backup = await backupIsFresh(ctx);
    if (backup.fresh) ticks.backup = `${backup.last?.name} verified`;
    await postChecklist(ctx, job, 'pre-maintenance', `Pre-maintenance checklist · ${job.window} · ${formatWhen(ctx, start)}`, ticks);
  }
  return 'announced';
}

/** The window's hold on maintenance (workers/maintenance/holders.ts), its steps journaled per phase like an action's. */
function holdFlow(ctx: RoutineContext, job: Phase, phase: 'start' | 'end'): HoldFlow {
  return {
    holders: createMaintenanceHolders(ctx.redis, ctx.prefix),
    once: createActionJournal(ctx.redis, ctx.prefix, phaseId(job, phase)).once,
    now: () => ctx.now().getTime(),
    async setMode(enabled, reason) {
      await callTool(ctx, 'ops_set_maintenance', { enabled, reason });
    },
  };
}

const holderOf = (job: Phase) => windowHolderId(job.window, Date.parse(job.startsAt));

async function begin(ctx: RoutineContext, job: Phase): Promise<string> {
  const end = new Date(job.endsAt);
  if (end <= ctx.now()) return 'window over already';
  const service = ctx.config.routine.maintenance.service;
  const flow = holdFlow(ctx, job, 'start');
  const why = `scheduled maintenance window ${job.window} until ${job.endsAt}`;
  const record = { untilMs: end.getTime(), label: `window ${job.window}`, by: 'system:routine', why, silences: [] as string[] };
  const { active, held } = await beginHold(flow, holderOf(job), record, why);
  if (!held) return overridden(ctx, job, active);
  let silence = 'ALERTMANAGER_URL is not set for the workers: no silence.';
  if (ctx.silences) {
    const silences = ctx.silences;
    // A retried start reuses its silence (the phase's journal) instead of creating another.
    const id = await flow.once('silence', () => silences.create([{ name: 'service', value: service, isRegex: false }], end, 'mcp-financial-ops routine', `maintenance window ${job.window}`));
    // The holder keeps its silence: the window's end, or a person's `maintenance off`, expires it.
    if (!(await keepSilences(flow.holders, holderOf(job), record, [id], (sid) => silences.expire(sid)))) {
      return overridden(ctx, job, await flow.holders.active(ctx.now().getTime()));
    }
    silence = `Alerts for \`service=${escapeMrkdwn(service)}\` silenced until the end (silence ${escapeMrkdwn(id)}).`;
  }
  const others = active.filter((h) => h.id !== holderOf(job));
  const also = others.length ? ` Also held: ${describeHolders(others, (at) => formatWhen(ctx, at))}.` : '';
  const title = `🔧 Maintenance window "${job.window}" started`;
  await postReport(ctx, title, [header(title), section(`Maintenance mode is *ON* until ${formatWhen(ctx, end)}. ${silence}${also}`)], phaseId(job, 'started'));
  return 'started';
}

/** A person's `maintenance off` ended the window while it started: said in #ops-reports instead of "started". */
async function overridden(ctx: RoutineContext, job: Phase, remaining: Holder[]): Promise<string> {
  const title = `🔧 Maintenance window "${job.window}" was ended by a maintenance off as it started`;
  const mode = remaining.length ? `Maintenance stays *ON*: ${describeHolders(remaining, (at) => formatWhen(ctx, at))}.` : 'Maintenance mode is *OFF*.';
  await postReport(ctx, title, [header(title), section(mode)], phaseId(job, 'started'));
  return 'overridden';
}

async function finish(ctx: RoutineContext, job: Phase): Promise<string> {
  // Only this window's hold ends: another holder (a `maintenance on`, an overlapping window) keeps the mode on.
  const { released, remaining } = await endHold(holdFlow(ctx, job, 'end'), holderOf(job), `scheduled maintenance window ${job.window} ended`);
  // Its silence ends with it either way: the other holders have their own for their own time. (A person's
  // `maintenance off` that ended the hold first expired it already: nothing is released here then.)
  const ids = ctx.silences ? (released?.silences ?? []) : [];
  for (const id of ids) await ctx.silences!.expire(id);
  const health = await settle(callTool(ctx, 'ops_health_check', { mode: 'full' }));
  const status = health.ok ? String(health.value.structuredContent?.status ?? 'unknown') : `unreachable (${health.error})`;
  const title = `✅ Maintenance window "${job.window}" ended`;
  const mode = remaining.length ? `Maintenance stays *ON*: ${describeHolders(remaining, (at) => formatWhen(ctx, at))}.` : 'Maintenance mode is *OFF*.';
  await postReport(ctx, title, [
    header(title),
    section(`${mode}${ids.length ? ` Silence ${ids.map(escapeMrkdwn).join(', ')} expired.` : ''} Server health after the window: *${escapeMrkdwn(status)}*.`),
    context(formatWhen(ctx, ctx.now())),
  ], phaseId(job, 'ended'));
  const ticks: Record<string, string> = status === 'healthy' ? { health: 'ops_health_check full: healthy' } : {};
  await postChecklist(ctx, job, 'post-maintenance', `Post-maintenance checklist · ${job.window} · ${formatWhen(ctx, new Date(job.startsAt))}`, ticks);
  return remaining.length ? `ended, maintenance held by ${remaining.map((h) => h.id).join(', ')}` : 'ended';
}

export async function maintenancePhaseJob(ctx: RoutineContext, job: Phase): Promise<string> {
  const w = windowOf(ctx, job.window);
  if (job.phase === 'announce') return announce(ctx, job, w);
  if (job.phase === 'start') return begin(ctx, job);
  return finish(ctx, job);
}
