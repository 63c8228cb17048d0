import { z } from 'zod';
import type { Logger } from '../../lib/logger';
import { defineTool, type GuardedTool } from '../mcp/tool-context';
import { audited, type AuditLog } from './audit';
import type { MaintenanceStore } from './maintenance';

/** ops_set_maintenance: the seed's `echo maintenance > status` / `rm status`, with who and why. */
export function maintenanceTool(deps: { maintenance: MaintenanceStore; audit: AuditLog; logger: Logger }): GuardedTool {
  return defineTool({
    name: 'ops_set_maintenance',
    title: 'Maintenance mode on/off',
    description:
      'Turns maintenance mode on or off through the status file. In maintenance every finance tool refuses with E_MAINTENANCE and /health/ready answers 503; /health and ops tools keep working.',
    scope: 'ops:admin',
    kind: 'ops',
    input: z.object({ enabled: z.boolean(), reason: z.string().min(3).max(500) }),
    output: z.object({
      enabled: z.boolean(),
      reason: z.string().optional(),
      actor: z.string().optional(),
      since: z.string().optional(),
      statusFile: z.string(),
    }),
    // Destructive in effect: while on, every finance tool is refused.
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, { caller }) {
      const status = await audited(
        deps.audit,
        { actor: caller.subject, tool: 'ops_set_maintenance', args },
        () => deps.maintenance.set(args.enabled, { reason: args.reason, actor: caller.subject }),
        (err) => deps.logger.error({ err: err.message }, 'audit write failed'),
      );
      deps.logger.warn({ enabled: status.enabled, reason: args.reason, actor: caller.subject }, 'maintenance mode changed');
      return {
        structured: { ...status, statusFile: deps.maintenance.statusFile },
        text: `Maintenance mode ${status.enabled ? 'ON' : 'OFF'} (by ${caller.subject}: ${args.reason})`,
      };
    },
  });
}
