import { parseActionParams } from '../../lib/action-catalog';
import { askedBy, type ActionHandler } from './types';

/**
 * The seed's "run full health check" as a runbook action: asks the MCP
 * server's `ops_health_check` tool and turns its report into a thread reply.
 */
export const runHealthCheck: ActionHandler = async (job, deps) => {
  const { mode } = parseActionParams('health_check', job.params);
  const result = await deps.mcp.callTool('ops_health_check', { mode });
  const status = String(result.structuredContent?.status ?? (result.isError ? 'error' : 'unknown'));
  const ok = !result.isError && status === 'healthy';
  const icon = ok ? '✅' : status === 'degraded' ? '⚠️' : '❌';
  const body = result.text.trim() || JSON.stringify(result.structuredContent ?? {}, null, 2);
  return {
    ok,
    summary: `${icon} Health check (${mode})${job.incidentId ? ` for ${job.incidentId}` : ''}, asked by ${askedBy(job)}: *${status}*`,
    detail: body,
    audit: { status },
  };
};
