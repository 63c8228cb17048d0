import { z } from 'zod';
import { defineTool, type GuardedTool } from '../mcp/tool-context';
import { checkHealth, HealthReportSchema, renderHealthText, type HealthDeps } from './health';

/** `ops_health_check`: the seed's `health-check.sh basic|full` as a tool. */
export function healthCheckTool(deps: HealthDeps): GuardedTool {
  return defineTool({
    name: 'ops_health_check',
    title: 'Health check',
    description:
      'Reports server health. basic: status, version, uptime, maintenance. full: adds backends, circuit breakers, memory, Redis and the blocked IP count. status is healthy, degraded or unhealthy.',
    scope: 'ops:read',
    kind: 'ops',
    input: z.object({ mode: z.enum(['basic', 'full']).default('basic').describe('basic or full') }),
    output: HealthReportSchema,
    annotations: { readOnlyHint: true, openWorldHint: false },
    async run(args) {
      const report = await checkHealth(deps, args.mode);
      return { structured: report, text: renderHealthText(report) };
    },
  });
}
