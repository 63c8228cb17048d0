import { z } from 'zod';
import type { AuthFailureLog } from '../auth/auth-failures';
import { defineTool, type GuardedTool } from '../mcp/tool-context';
import type { IpDenylist } from './ip-denylist';

const ClientSchema = z.object({
  ip: z.string(),
  total: z.number().int(),
  reasons: z.record(z.string(), z.number().int()),
  lastAt: z.string(),
  blocked: z.boolean(),
});

/** ops_security_report: who failed to authenticate, how, and how often, over a window. */
export function securityReportTool(deps: { failures: AuthFailureLog; denylist: IpDenylist }): GuardedTool {
  return defineTool({
    name: 'ops_security_report',
    title: 'Security report',
    description: 'Authentication and authorization failures over the last windowMinutes, by client address and reason, with whether each address is blocked.',
    scope: 'ops:read',
    kind: 'ops',
    input: z.object({
      windowMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
      top: z.number().int().min(1).max(500).default(20),
    }),
    output: z.object({
      windowMinutes: z.number(),
      since: z.string(),
      total: z.number().int(),
      byReason: z.record(z.string(), z.number().int()),
      clients: z.array(ClientSchema),
      /** Addresses beyond `top` that are not listed. */
      moreClients: z.number().int(),
    }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async run(args) {
      const sinceMs = Date.now() - args.windowMinutes * 60_000;
      const entries = await deps.failures.since(sinceMs);
      const byReason: Record<string, number> = {};
      const byIp = new Map<string, z.infer<typeof ClientSchema>>();
      for (const e of entries) {
        byReason[e.reason] = (byReason[e.reason] ?? 0) + 1;
        const c = byIp.get(e.ip) ?? { ip: e.ip, total: 0, reasons: {}, lastAt: e.at, blocked: false };
        c.total += 1;
        c.reasons[e.reason] = (c.reasons[e.reason] ?? 0) + 1;
        c.lastAt = e.at > c.lastAt ? e.at : c.lastAt;
        byIp.set(e.ip, c);
      }
      const all = [...byIp.values()].sort((a, b) => b.total - a.total || a.ip.localeCompare(b.ip));
      const clients = all.slice(0, args.top).map((c) => ({ ...c, blocked: deps.denylist.isBlocked(c.ip) }));
      const structured = {
        windowMinutes: args.windowMinutes,
        since: new Date(sinceMs).toISOString(),
        total: entries.length,
        byReason,
        clients,
        moreClients: Math.max(0, all.length - clients.length),
      };
      return { structured, text: render(structured) };
    },
  });
}

function render(r: { windowMinutes: number; total: number; byReason: Record<string, number>; clients: z.infer<typeof ClientSchema>[] }): string {
  if (r.total === 0) return `No auth failures in the last ${r.windowMinutes} min.`;
  const reasons = Object.entries(r.byReason)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const lines = r.clients.map(
    (c) => `- ${c.ip}${c.blocked ? ' [blocked]' : ''}: ${c.total} (${Object.entries(c.reasons).map(([k, v]) => `${k}=${v}`).join(', ')}), last ${c.lastAt}`,
  );
  return [`${r.total} auth failures in the last ${r.windowMinutes} min (${reasons}):`, ...lines].join('\n');
}
