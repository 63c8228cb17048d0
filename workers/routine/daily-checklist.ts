import { renderChecklist, type Checklist } from '../../lib/routine-checklist';
import { backupIsFresh } from './backup';
import { callTool, reportChannel, routineDay, settle, type RoutineContext } from './context';
import { checkCertificate, warningThreshold } from './tls-check';

/**
 * The guide's Daily Checklist as an interactive message. Before it is posted,
 * each item with an automatic check runs it; a passing check ticks the item
 * (by `auto`). People tick the rest with the item's button (bot/routine/).
 * Later checks of the day (the backup, the certificate check) tick theirs
 * when they pass. What is still open at the end of the day is named in the
 * next morning's report.
 */
type Check = (ctx: RoutineContext) => Promise<string | undefined>;

async function promScalar(ctx: RoutineContext, expr: string): Promise<number | undefined> {
  return ctx.prometheus ? ctx.prometheus.scalar(expr) : undefined;
}

/** Item key → its automatic check: a note when it passes, undefined when a person has to look. */
const CHECKS: Record<string, Check> = {
  async health(ctx) {
    const r = await callTool(ctx, 'ops_health_check', { mode: 'full' });
    return r.structuredContent?.status === 'healthy' ? 'ops_health_check full: healthy' : undefined;
  },
  async 'error-logs'(ctx) {
    // The guide's error rate over the past 24 hours, under its 1% target.
    const rate = await promScalar(ctx, 'sum(rate(mcp_requests_total{status!="success"}[24h])) / sum(rate(mcp_requests_total[24h]))');
    return rate !== undefined && rate < 0.01 ? `error rate ${(rate * 100).toFixed(2)}% over 24h` : undefined;
  },
  async backup(ctx) {
    const { fresh, last } = await backupIsFresh(ctx);
    return fresh ? `${last?.name} verified` : undefined;
  },
  async resources(ctx) {
    const cpu = await promScalar(ctx, 'max(avg_over_time(process_cpu_usage_percent{service="mcp-financial-server"}[24h]))');
    const mem = await promScalar(ctx, 'max(process_memory_usage_bytes{service="mcp-financial-server"} / process_memory_limit_bytes{service="mcp-financial-server"})');
    return cpu !== undefined && mem !== undefined && cpu < 70 && mem < 0.8 ? `CPU ${cpu.toFixed(1)}% (< 70%), memory ${(mem * 100).toFixed(1)}% (< 80%)` : undefined;
  },
  async security(ctx) {
    if (!ctx.prometheus) return undefined;
    const firing = await ctx.prometheus.query('ALERTS{alertstate="firing", category="security"}');
    return firing.length === 0 ? 'no security alert firing' : undefined;
  },
  async monitoring(ctx) {
    if (!ctx.prometheus) return undefined;
    const up = await ctx.prometheus.query('up');
    return up.length > 0 && up.every((s) => s.value === 1) ? `Prometheus answers; ${up.length} target(s) up` : undefined;
  },
  async certificates(ctx) {
    const endpoints = ctx.config.routine.tls_endpoints;
    if (endpoints.length === 0) return undefined;
    const statuses = await Promise.all(endpoints.map((e) => checkCertificate(e, { now: ctx.now() })));
    const ok = statuses.every((s) => s.ok && warningThreshold(s.daysLeft!, ctx.config.routine.certificate_warn_days) === undefined);
    return ok ? `${endpoints.length} certificate(s) outside every warning threshold` : undefined;
  },
};

export async function dailyChecklistJob(ctx: RoutineContext): Promise<string> {
  const channel = await reportChannel(ctx);
  const day = routineDay(ctx);
  let checklist: Checklist = await ctx.checklists.create('daily', channel, { day, title: `Daily checklist · ${day}` });
  for (const [item, check] of Object.entries(CHECKS)) {
    const r = await settle(check(ctx));
    if (!r.ok) ctx.logger.warn({ item, err: r.error }, 'daily checklist: automatic check failed');
    if (r.ok && r.value) checklist = (await ctx.checklists.tick(checklist.id, item, 'auto', r.value)) ?? checklist;
  }
  const { text, blocks } = renderChecklist(checklist, ctx.config.routine.timezone);
  await ctx.slack.reply({ id: checklist.messageId, channel, text, blocks, editable: true });
  return `${Object.keys(checklist.ticks).length} of 7 ticked automatically`;
}
