import type { RunbookActionJob } from '../../lib/contracts';
import type { McpClient } from '../../lib/mcp-client';
import type { ActionOutcome } from './types';

/**
 * The seed's "run full health check" as a runbook action: asks the MCP
 * server's `ops_health_check` tool and turns its report into a thread reply.
 */
export async function runHealthCheck(job: RunbookActionJob, deps: { mcp: McpClient }): Promise<ActionOutcome> {
  const mode = job.params.mode === 'basic' ? 'basic' : 'full';
  const result = await deps.mcp.callTool('ops_health_check', { mode });
  const status = String(result.structuredContent?.status ?? (result.isError ? 'error' : 'unknown'));
  const ok = !result.isError && status === 'healthy';
  const icon = ok ? '✅' : status === 'degraded' ? '⚠️' : '❌';
  const body = result.text.trim() || JSON.stringify(result.structuredContent ?? {}, null, 2);
  return {
    ok,
    summary: `${icon} Health check (${mode}) for ${job.incidentId}, asked by <@${job.requestedBy}>: *${status}*`,
    detail: body,
  };
}
