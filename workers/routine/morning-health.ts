import { openItems } from '../../lib/routine-checklist';
import { clip, escapeMrkdwn } from '../../lib/slack-text';
import { checkBackupFresh } from './backup';
import { certificateLines } from './certificates';
import { autoTick } from './checklist-ticks';
import { callTool, context, fmt, formatWhen, header, postReport, routineDay, section, settle, type Blocks, type RoutineContext } from './context';
import { morningQueries } from './queries';

/**
 * The guide's Morning Health Check as one message in the report channel: the
 * MCP server's full health check (the seed's `health-check.sh full`), the
 * overnight metrics from Prometheus (the guide's PromQL), breaker states,
 * backup status, certificate expiry, and what yesterday's checklist left open.
 */
const BREAKER = ['closed', 'half-open', 'open'];

async function healthSection(ctx: RoutineContext): Promise<{ text: string; healthy: boolean }> {
  const r = await settle(callTool(ctx, 'ops_health_check', { mode: 'full' }));
  if (!r.ok) return { text: `*MCP server health*: ❌ ${escapeMrkdwn(r.error)}`, healthy: false };
  const s = r.value.structuredContent as { status?: string; problems?: string[]; backends?: Array<{ service: string; healthy: boolean; latencyMs: number }> } | undefined;
  const icon = s?.status === 'healthy' ? '✅' : s?.status === 'degraded' ? '⚠️' : '❌';
  const backends = (s?.backends ?? []).map((b) => `${b.healthy ? '✅' : '❌'} ${escapeMrkdwn(b.service)} (${Math.round(b.latencyMs)} ms)`).join(' · ');
  const problems = (s?.problems ?? []).map((p) => `\n• ${escapeMrkdwn(p)}`).join('');
  return { text: `*MCP server health*: ${icon} ${escapeMrkdwn(String(s?.status ?? 'unknown'))}${backends ? `\n${backends}` : ''}${problems}`, healthy: s?.status === 'healthy' };
}

async function metricsSections(ctx: RoutineContext): Promise<string[]> {
  const prom = ctx.prometheus;
  if (!prom) return ['*Overnight metrics*: PROMETHEUS_URL is not set for the workers.'];
  const w = ctx.config.routine.overnight;
  const q = morningQueries(w);
  const [up, errorRate, p95, avg, requests, authFailures, topTools, breakers, conns] = await Promise.all([
    settle(prom.query(q.up)),
    settle(prom.scalar(q.errorRate)),
    settle(prom.scalar(q.p95)),
    settle(prom.scalar(q.avgLatency)),
    settle(prom.scalar(q.requests)),
    settle(prom.scalar(q.authFailures)),
    settle(prom.query(q.topTools)),
    settle(prom.query(q.breakers)),
    settle(prom.scalar(q.activeConnections)),
  ]);
  const val = <T>(r: { ok: true; value: T } | { ok: false; error: string }, show: (v: T) => string) => (r.ok ? show(r.value) : `n/a (${escapeMrkdwn(clip(r.error, 120))})`);
  const services = val(up, (samples) =>
    samples.length === 0 ? 'no targets' : samples.map((s) => `${s.value === 1 ? '✅' : '❌'} ${escapeMrkdwn(s.metric.job ?? s.metric.instance ?? '?')}`).join(' · '),
  );
  const authRate = requests.ok && authFailures.ok && requests.value ? 1 - (authFailures.value ?? 0) / requests.value : undefined;
  const lines = [
    `*Services* (up): ${services}`,
    `*Overnight* (last ${w}): error rate ${val(errorRate, (v) => fmt.pct(v))} (guide: < 1%) · p95 ${val(p95, fmt.ms)} · average ${val(avg, fmt.ms)} (guide: < 500 ms)`,
    `*Request volume*: ${val(requests, fmt.int)} · *authentication success*: ${fmt.pct(authRate)} (guide: > 99%) · active connections ${val(conns, fmt.int)}`,
    `*Most used MCP tools*: ${val(topTools, (s) => (s.length ? s.map((t) => `\`${escapeMrkdwn(t.metric.tool ?? '?')}\` ${fmt.int(t.value)}`).join(', ') : 'none'))}`,
    `*Circuit breakers*: ${val(breakers, (s) => (s.length ? s.map((b) => `${b.value === 0 ? '✅' : '⚠️'} ${escapeMrkdwn(b.metric.service ?? '?')} ${BREAKER[b.value] ?? b.value}`).join(' · ') : 'none reported'))}`,
  ];
  return lines;
}

export async function morningHealthJob(ctx: RoutineContext): Promise<string> {
  const [health, metrics, backup, certs, yesterday] = await Promise.all([
    healthSection(ctx),
    metricsSections(ctx),
    checkBackupFresh(ctx),
    certificateLines(ctx),
    ctx.checklists.daily(routineDay(ctx, -1)),
  ]);
  if (health.healthy) await autoTick(ctx, 'health', 'MCP server healthy').catch(() => false);
  const open = yesterday ? openItems(yesterday) : [];
  const leftOpen = !yesterday
    ? 'No daily checklist was posted yesterday.'
    : open.length === 0
      ? '✅ Every item of yesterday’s checklist was ticked.'
      : `⚠️ Left open yesterday (${open.length}): ${open.map((i) => `_${i}_`).join(', ')}`;
  const title = `☀️ Morning health check · ${routineDay(ctx)}`;
  const blocks: Blocks = [
    header(title),
    section(health.text),
    section(metrics.join('\n')),
    section(`*Backups*: ${backup.line}`),
    section(`*Certificates*:\n${certs.join('\n')}`),
    section(`*Yesterday’s checklist*: ${leftOpen}`),
    context(`The operations guide's morning health check · ${formatWhen(ctx, ctx.now())}`),
  ];
  const text = `${title}: server ${health.healthy ? 'healthy' : 'NOT healthy'}${open.length ? `; ${open.length} checklist item(s) left open yesterday` : ''}`;
  await postReport(ctx, text, blocks);
  return health.healthy ? 'healthy' : 'unhealthy';
}
