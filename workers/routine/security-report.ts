import { parseDuration } from '../../lib/duration';
import { clip, escapeMrkdwn } from '../../lib/slack-text';
import { callTool, context, fmt, formatWhen, header, postReport, section, settle, type Blocks, type RoutineContext } from './context';
import { securityQueries } from './queries';

/**
 * The weekly security report (the guide's Security Operations): the
 * authentication failure rate, the top offending client addresses and the
 * blocked ones (the MCP server's ops_security_report and ops_list_blocked_ips),
 * and JWT validation failures by reason (Prometheus).
 */
type Client = { ip: string; total: number; reasons: Record<string, number>; blocked: boolean; lastAt: string };
type Block = { cidr: string; reason: string; actor: string; expiresAt: string };

const byReason = (samples: Array<{ metric: Record<string, string>; value: number }>) =>
  samples.filter((s) => s.value > 0).sort((a, b) => b.value - a.value).map((s) => `${escapeMrkdwn(s.metric.reason ?? '?')} ${fmt.int(s.value)}`).join(', ') || 'none';

export async function securityReportJob(ctx: RoutineContext): Promise<string> {
  const w = ctx.config.routine.security_window;
  const windowMinutes = Math.max(1, Math.min(7 * 24 * 60, Math.round(parseDuration(w) / 60_000)));
  const q = securityQueries(w);
  const prom = ctx.prometheus;
  const [report, blocked, rate, rateNow, share, authReasons, jwt, forbidden] = await Promise.all([
    settle(callTool(ctx, 'ops_security_report', { windowMinutes, top: 10 })),
    settle(callTool(ctx, 'ops_list_blocked_ips')),
    prom ? settle(prom.scalar(q.authFailureRate)) : undefined,
    prom ? settle(prom.scalar(q.authFailureRateNow)) : undefined,
    prom ? settle(prom.scalar(q.authFailureShare)) : undefined,
    prom ? settle(prom.query(q.authFailuresByReason)) : undefined,
    prom ? settle(prom.query(q.jwtByReason)) : undefined,
    prom ? settle(prom.scalar(q.forbidden)) : undefined,
  ]);
  const show = <T>(r: { ok: true; value: T } | { ok: false; error: string } | undefined, f: (v: T) => string) =>
    r === undefined ? 'n/a (PROMETHEUS_URL not set)' : r.ok ? f(r.value) : `n/a (${escapeMrkdwn(clip(r.error, 120))})`;

  const s = report.ok ? (report.value.structuredContent as { total: number; clients: Client[]; moreClients: number } | undefined) : undefined;
  const offenders = !report.ok
    ? `n/a (${escapeMrkdwn(clip(report.error, 200))})`
    : (s?.clients ?? []).length === 0
      ? 'none'
      : s!.clients
          .map((c) => `• \`${escapeMrkdwn(c.ip)}\`${c.blocked ? ' 🚫 blocked' : ''}: ${c.total} (${Object.entries(c.reasons).map(([k, v]) => `${escapeMrkdwn(k)} ${v}`).join(', ')})`)
          .join('\n') + (s!.moreClients ? `\n…and ${s!.moreClients} more` : '');
  const blocks = blocked.ok ? ((blocked.value.structuredContent?.blocks as Block[] | undefined) ?? []) : [];
  const blockedText = !blocked.ok
    ? `n/a (${escapeMrkdwn(clip(blocked.error, 200))})`
    : blocks.length === 0
      ? 'none'
      : blocks.map((b) => `• \`${escapeMrkdwn(b.cidr)}\` until ${formatWhen(ctx, new Date(b.expiresAt))}: ${escapeMrkdwn(clip(b.reason, 200))} (by ${escapeMrkdwn(b.actor)})`).join('\n');

  const title = `🛡️ Weekly security report · last ${w}`;
  const body: Blocks = [
    header(title),
    section(
      [
        `*Authentication failure rate*: ${show(rate, (v) => `${fmt.num((v ?? 0) * 60, 2)}/min`)} over ${w} · now ${show(rateNow, (v) => `${fmt.num(v ?? 0, 2)}/s`)} (alert above 10/s) · ${show(share, (v) => fmt.pct(v))} of requests`,
        `*Failures by reason*: ${show(authReasons, byReason)} · *403s*: ${show(forbidden, (v) => fmt.int(v ?? 0))}`,
        `*JWT validation failures by reason*: ${show(jwt, byReason)}`,
        `*Auth failures logged by the server*: ${s ? fmt.int(s.total) : 'n/a'} in ${windowMinutes} min`,
      ].join('\n'),
    ),
    section(`*Top offending addresses*\n${offenders}`),
    section(`*Blocked addresses*\n${blockedText}`),
    context(`ops_security_report, ops_list_blocked_ips and the guide's security PromQL · ${formatWhen(ctx, ctx.now())}`),
  ];
  await postReport(ctx, title, body);
  return `${s?.total ?? 0} auth failures`;
}
